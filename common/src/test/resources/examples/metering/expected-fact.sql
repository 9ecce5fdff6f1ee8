-- gold.fact_meter_readings before dimension resolution: the fact query of gold.conf asked of
-- PostgreSQL. Natural keys (meter_id, substation_code, reading_date) instead of meter_sk,
-- substation_sk and reading_date_key. meter_id as text, as Spark holds a uuid.
SELECT r.meter_id::text AS meter_id, r.substation_code, r.reading_date, r.channel, r.kwh,
       CASE r.channel WHEN 2 THEN -r.kwh ELSE r.kwh END AS net_kwh,
       r.origin, r.read_at
FROM network."MeterReadings" r
ORDER BY r.meter_id, r.reading_date, r.channel;
