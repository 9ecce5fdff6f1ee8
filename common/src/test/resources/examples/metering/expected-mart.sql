-- mart_daily_net_kwh_by_region (gold.conf), asked directly of PostgreSQL: net energy per region
-- and day, each reading counted for the current region of the substation that relayed it.
SELECT s.region, r.reading_date, count(*) AS readings, count(DISTINCT r.meter_id) AS meters,
       sum(CASE r.channel WHEN 2 THEN -r.kwh ELSE r.kwh END) AS net_kwh
FROM network."MeterReadings" r
JOIN network.substations s ON s.substation_code = r.substation_code
GROUP BY s.region, r.reading_date
ORDER BY s.region, r.reading_date;
