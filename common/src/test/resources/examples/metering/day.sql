-- A day of changes to the metering example, after seed.sql. Run statement by statement in
-- auto-commit (psql -f, or JDBC), as the applications would: each statement is its own transaction,
-- so the two updates of meter EM0000008 carry two different now() values.
--
-- Every application moves its own cursor forward:
--   network.meters.updated_at           = now()            (timestamptz)
--   network."MeterReadings".modified_at = now()            (timestamptz)
--   network.feeders.last_update         = localtimestamp   (timestamp without time zone)
--   network.substations.updated_on      = current_date     (date)
--   field.visits.version                = nextval('field.visit_changes'), set by a trigger
--   field.meter_checks.changed_at       = now()            (not a cursor: no index leads with it)
-- network.tariffs and field.technicians have no change-time column (full tables).

-- A new feeder on SS-004 and two meters on it; meter 121 has solar panels.
INSERT INTO network.feeders (feeder_no, substation_code, name, rated_amps, phases, last_update)
VALUES (5, 'SS-004', 'SS-004/5', 400, '{L1,L2,L3}', localtimestamp);

INSERT INTO network.meters
  (meter_id, "SerialNo", model, status, feeder_no, substation_code, tariff_code, firmware, tags, settings,
   installed_on, updated_at)
VALUES
  (md5('meter:121')::uuid, 'EM0000121', 'Landis E470', 'active', 5, 'SS-004', 'SOLAR', '4.2.0',
   '{smart,solar}', '{"interval_minutes": 30, "display": "kwh", "comms": ["plc", "gsm"]}', current_date, now()),
  (md5('meter:122')::uuid, 'EM0000122', 'Aclara SGM1412', 'installed', 5, 'SS-004', 'STD', NULL,
   '{smart}', '{}', current_date, now());

-- Meter 3 moves to the EV tariff: a tracked attribute of dim_meter, so a new version opens.
UPDATE network.meters SET tariff_code = 'EV', tags = tags || '{ev}'::text[], updated_at = now()
WHERE "SerialNo" = 'EM0000003';

-- Meter 8: a firmware upgrade in the morning (overwrite attribute), found faulty in the afternoon
-- (tracked attribute): two updates of one row in one day.
UPDATE network.meters SET firmware = '4.2.0', updated_at = now() WHERE "SerialNo" = 'EM0000008';
UPDATE network.meters SET status = 'faulty', updated_at = now() WHERE "SerialNo" = 'EM0000008';

-- Meter 17, installed in 2019 but never commissioned, goes live.
UPDATE network.meters SET status = 'active', settings = settings || '{"display": "kwh"}', updated_at = now()
WHERE "SerialNo" = 'EM0000017';

-- SS-006 is handed over to the East region: a tracked attribute of dim_substation.
UPDATE network.substations SET region = 'East', updated_on = current_date WHERE substation_code = 'SS-006';

-- SCADA comes to SS-008 (NULL -> an address).
UPDATE network.substations SET scada_ip = '10.20.0.8', updated_on = current_date WHERE substation_code = 'SS-008';

-- Feeder SS-005/2 is uprated.
UPDATE network.feeders SET rated_amps = rated_amps + 100, last_update = localtimestamp
WHERE substation_code = 'SS-005' AND feeder_no = 2;

-- The regulator's new price for the standard rate (no change-time column: found by the snapshot).
UPDATE network.tariffs SET energy_rate = 0.2567001, standing_charge = '0.55' WHERE tariff_code = 'STD';
-- The blank description of SOLAR is written at last ('' -> text).
UPDATE network.tariffs SET description = 'Export payments for solar panels' WHERE tariff_code = 'SOLAR';

-- Today's readings: channel 1 of every active meter (they land in the DEFAULT partition), read
-- at half past midnight and stored a little later.
INSERT INTO network."MeterReadings"
  (meter_id, reading_date, channel, substation_code, kwh, origin, read_at, modified_at)
SELECT m.meter_id, current_date, 1, m.substation_code,
       round((substr(m."SerialNo", 3)::int * 13 % 300) / 10.0 + 5, 3), 'actual',
       now() - interval '10 minutes', now()
FROM network.meters m
WHERE m.status = 'active'
ORDER BY m."SerialNo";

-- A late February reading of meter 2 comes in from a concentrator's backlog.
INSERT INTO network."MeterReadings"
  (meter_id, reading_date, channel, substation_code, kwh, origin, read_at, modified_at)
VALUES (md5('meter:2')::uuid, '2025-02-27', 1, 'SS-006', 12.345, 'actual', '2025-02-27 23:31:00+00', now());

-- An estimate of meter 19 is replaced by the real value.
UPDATE network."MeterReadings" SET kwh = kwh + 1.5, origin = 'actual', modified_at = now()
WHERE meter_id = md5('meter:19')::uuid AND reading_date = '2025-02-18' AND channel = 1;

-- An export reading of meter 20 had been filed under 29 January; it belongs to 1 February. The
-- update changes the partition key: PostgreSQL moves the row from one partition to the other.
UPDATE network."MeterReadings" SET reading_date = '2025-02-01', modified_at = now()
WHERE meter_id = md5('meter:20')::uuid AND reading_date = '2025-01-29' AND channel = 2;

-- A duplicate export reading of meter 35 is deleted (a row of the partitioned table).
DELETE FROM network."MeterReadings"
WHERE meter_id = md5('meter:35')::uuid AND reading_date = '2025-02-06' AND channel = 2;

-- A technician joins; one says they have no e-mail (NULL -> ''); T-0012 leaves (no visits).
INSERT INTO field.technicians (employee_no, full_name, email, certifications, shift_start, hired_on)
VALUES ('T-0013', 'Mira Okafor', 'mira.13@grid.example', '{LV}', '07:00:00+00', current_date);
UPDATE field.technicians SET email = '' WHERE employee_no = 'T-0004';
DELETE FROM field.technicians WHERE employee_no = 'T-0012';

-- Three visits planned for today, one of them for the new technician.
INSERT INTO field.visits (meter_id, employee_no, planned_for, checklist, client_ip)
VALUES (md5('meter:8')::uuid, 'T-0013', current_date, '{"seal": true, "display": "blank"}', '192.168.1.9'),
       (md5('meter:121')::uuid, 'T-0002', current_date, '{}', NULL),
       (md5('meter:44')::uuid, NULL, current_date + 1, NULL, '2001:db8::ff');

-- An open visit is closed (version moves on through the trigger).
UPDATE field.visits
SET started_at = now() - interval '2 hours', duration = interval '35 minutes', outcome = 'repaired',
    notes = 'Replaced the comms module'
WHERE visit_id = 6;

-- Visit 7's duration is corrected: its TOAST-sized notes and photo are left as they are (a log
-- decoder sees them as unchanged TOAST values, not as new ones).
UPDATE field.visits SET duration = duration + interval '5 minutes' WHERE visit_id = 7;

-- Visit 11 gets a long report pasted into its notes: a new TOAST-sized value.
UPDATE field.visits
SET notes = (SELECT string_agg(md5('visit 11 report ' || g), ' ' ORDER BY g) FROM generate_series(1, 300) g)
WHERE visit_id = 11;

-- The second check reading of visit 16 is corrected.
UPDATE field.meter_checks SET checked_kwh = checked_kwh + 0.2, deviation_pct = deviation_pct + 1, changed_at = now()
WHERE visit_id = 16 AND check_no = 2;

-- Visit 32 had been entered twice; it goes, and its two check readings with it (ON DELETE CASCADE).
DELETE FROM field.visits WHERE visit_id = 32;

-- The nightly job.
REFRESH MATERIALIZED VIEW network.substation_daily_kwh;
