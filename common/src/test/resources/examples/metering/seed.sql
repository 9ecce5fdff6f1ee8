-- Fills the metering example (schema.sql) deterministically: the same rows, values and change times
-- on every load; no random(), no now(). Change times lie in December 2024, readings in January and
-- February 2025, so the changes of day.sql (now(), current_date) always come after them.
--
-- About 2,000 readings, 300 visits, 120 meters, 42 feeders, 12 substations, 12 technicians.

-- 3 grid substations (132 kV) feeding 9 local ones (11 kV), three to each.
INSERT INTO network.substations
  (substation_code, parent_code, name, region, voltage_kv, capacity_mva, scada_ip, commissioned_on, updated_on)
SELECT 'SS-' || lpad(i::text, 3, '0'),
       CASE WHEN i > 3 THEN 'SS-' || lpad(((i - 1) % 3 + 1)::text, 3, '0') END,
       (ARRAY['Aldwick', 'Bramley', 'Corfe', 'Dunmore', 'Elstead', 'Fenwick', 'Garford', 'Hale',
              'Ickford', 'Jevington', 'Kelsall', 'Lydd'])[i] || CASE WHEN i <= 3 THEN ' Grid' ELSE ' Local' END,
       (ARRAY['North', 'South', 'West'])[(i - 1) % 3 + 1],
       CASE WHEN i <= 3 THEN 132.0 ELSE 11.0 END,
       CASE WHEN i <= 3 THEN 240 ELSE round(7.5 + i * 1.3333333333333, 13) END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE ('10.20.0.' || i)::inet END,
       date '1968-04-01' + i * 400,
       date '2024-11-01' + i
FROM generate_series(1, 12) i
ORDER BY i;

-- Two feeders on each grid substation, four on each local one.
INSERT INTO network.feeders (feeder_no, substation_code, name, rated_amps, phases, last_update)
SELECT f, 'SS-' || lpad(s::text, 3, '0'), 'SS-' || lpad(s::text, 3, '0') || '/' || f,
       CASE WHEN s <= 3 THEN 800 ELSE 200 + 50 * f END,
       CASE WHEN f = 4 THEN '{L1}'::text[] ELSE '{L1,L2,L3}'::text[] END,
       timestamp '2024-12-15 08:00:00' + (s * 10 + f) * interval '7 minutes'
FROM generate_series(1, 12) s CROSS JOIN generate_series(1, 4) f
WHERE s > 3 OR f <= 2
ORDER BY s, f;

INSERT INTO network.tariffs
  (tariff_code, name, energy_rate, standing_charge, peak_start, peak_end, peak_days, description)
VALUES
  ('STD', 'Standard', 0.2451373, '0.53', NULL, NULL, NULL, 'Single rate, all day'),
  ('E7', 'Economy 7', 0.1893, '0.49', '08:00', '22:00', '{1,2,3,4,5,6,7}', NULL),
  ('EV', 'Electric vehicle', 0.2687, '0.61', '05:30', '23:30', '{1,2,3,4,5}', 'Cheap nights for charging'),
  ('SOLAR', 'Solar export', 0.221, '0.53', NULL, NULL, NULL, '');

-- 120 meters on the local substations' feeders. Every 5th has solar panels (tariff SOLAR, export
-- channel), every 17th is installed but not commissioned (no readings), every 25th is faulty.
INSERT INTO network.meters
  (meter_id, "SerialNo", model, status, feeder_no, substation_code, tariff_code, firmware, tags, settings,
   installed_on, updated_at)
SELECT md5('meter:' || i)::uuid,
       'EM' || lpad(i::text, 7, '0'),
       (ARRAY['Aclara SGM1412', 'Landis E470', 'Secure Liberty 100'])[i % 3 + 1],
       (CASE WHEN i % 25 = 0 THEN 'faulty' WHEN i % 17 = 0 THEN 'installed' ELSE 'active' END)::network.meter_status,
       (i / 9) % 4 + 1,
       'SS-' || lpad((4 + i % 9)::text, 3, '0'),
       CASE WHEN i % 5 = 0 THEN 'SOLAR' WHEN i % 7 = 0 THEN 'EV' WHEN i % 3 = 0 THEN 'E7' ELSE 'STD' END,
       CASE WHEN i % 11 = 0 THEN NULL ELSE '4.' || (i % 3) || '.' || (i % 5) END,
       CASE WHEN i % 5 = 0 THEN '{smart,solar}'::text[] WHEN i % 7 = 0 THEN '{smart,ev}'::text[] ELSE '{smart}'::text[] END,
       jsonb_build_object('interval_minutes', 30,
                          'display', CASE WHEN i % 2 = 0 THEN 'kwh' ELSE 'cost' END,
                          'comms', jsonb_build_array('plc', CASE WHEN i % 4 = 0 THEN 'gsm' ELSE 'none' END)),
       date '2019-01-01' + i * 9,
       timestamptz '2024-12-20 00:00:00+00' + i * interval '13 minutes'
FROM generate_series(1, 120) i
ORDER BY i;

-- A reading every 4th day from 1 January to 26 February 2025 (both monthly partitions), channel 1
-- for every commissioned meter, channel 2 for the solar ones. Now and then the parent substation's
-- concentrator relays it; faulty meters and some others send estimates.
INSERT INTO network."MeterReadings"
  (meter_id, reading_date, channel, substation_code, kwh, origin, read_at, modified_at)
SELECT m.meter_id, d.reading_date, c.channel,
       CASE WHEN (m.n + d.k) % 23 = 0 THEN s.parent_code ELSE m.substation_code END,
       round(((m.n * 37 + d.k * 11 + c.channel * 5) % 400) / 10.0 + CASE c.channel WHEN 1 THEN 4.5 ELSE 0.25 END, 3),
       CASE WHEN m.status = 'faulty' OR (m.n + d.k) % 31 = 0 THEN 'estimated' ELSE 'actual' END,
       (d.reading_date + time '23:30' + (m.n % 25) * interval '1 minute') AT TIME ZONE 'UTC',
       (d.reading_date + time '23:30' + (m.n % 25) * interval '1 minute') AT TIME ZONE 'UTC' + interval '2 hours'
FROM (SELECT meter_id, substation_code, status, tariff_code, substr("SerialNo", 3)::int AS n FROM network.meters) m
JOIN network.substations s ON s.substation_code = m.substation_code
CROSS JOIN (SELECT k, date '2025-01-01' + 4 * k AS reading_date FROM generate_series(0, 14) k) d
CROSS JOIN (VALUES (1::smallint), (2::smallint)) c(channel)
WHERE m.status <> 'installed' AND (c.channel = 1 OR m.tariff_code = 'SOLAR')
ORDER BY m.n, d.reading_date, c.channel;

INSERT INTO field.technicians (employee_no, full_name, email, certifications, shift_start, hired_on)
SELECT 'T-' || lpad(i::text, 4, '0'),
       n.first || ' ' || (ARRAY['Okafor', 'Lindqvist', 'Moreau', 'Patel', 'Quinn', 'Rossi'])[i % 6 + 1],
       CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE lower(n.first) || '.' || i || '@grid.example' END,
       CASE i % 3 WHEN 0 THEN '{LV,HV}'::text[] WHEN 1 THEN '{LV}'::text[] ELSE '{}'::text[] END,
       CASE WHEN i % 2 = 0 THEN timetz '07:00:00+00' ELSE timetz '14:00:00+01' END,
       date '2012-03-01' + i * 211
FROM generate_series(1, 12) i
CROSS JOIN LATERAL (SELECT (ARRAY['Ada', 'Bram', 'Cleo', 'Dev', 'Esme', 'Finn', 'Gwen', 'Hugo', 'Isla', 'Jude',
                                  'Kit', 'Lena'])[i] AS first) n
ORDER BY i;

-- 300 visits in January and February 2025; every 6th is still open, every 10th unassigned.
-- T-0012 has none (day.sql lets them go). Visit 7 carries TOAST-sized notes and photo.
INSERT INTO field.visits
  (meter_id, employee_no, planned_for, started_at, duration, outcome, notes, checklist, photo, client_ip)
SELECT md5('meter:' || ((i * 7) % 120 + 1))::uuid,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'T-' || lpad((i % 11 + 1)::text, 4, '0') END,
       date '2025-01-02' + (i % 55),
       CASE WHEN i % 6 = 0 THEN NULL
            ELSE ((date '2025-01-02' + (i % 55)) + time '09:00' + (i % 8) * interval '45 minutes') AT TIME ZONE 'UTC' END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE (20 + i % 90) * interval '1 minute' END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE (ARRAY['inspected', 'repaired', 'replaced', 'no access'])[i % 4 + 1] END,
       CASE WHEN i = 7 THEN (SELECT string_agg(md5('visit 7 note ' || g), ' ' ORDER BY g) FROM generate_series(1, 400) g)
            WHEN i % 5 = 0 THEN NULL
            WHEN i % 5 = 1 THEN ''
            ELSE (ARRAY['Seal intact, display ok', 'Terminal cover replaced', 'Customer not at home',
                        'Comms module reseated'])[i % 4 + 1] END,
       json_build_object('seal', i % 3 <> 0, 'display', CASE WHEN i % 8 = 0 THEN 'blank' ELSE 'ok' END,
                         'photos', i % 9 = 0),
       CASE WHEN i = 7 THEN (SELECT decode(string_agg(md5('photo 7 ' || g), '' ORDER BY g), 'hex') FROM generate_series(1, 300) g)
            WHEN i % 9 = 0 THEN decode(md5('photo ' || i), 'hex') END,
       CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN ('192.168.' || (i % 7) || '.' || (i % 200 + 1))::inet
            ELSE ('2001:db8::' || to_hex(i))::inet END
FROM generate_series(1, 300) i
ORDER BY i;

-- On an inspection the technician checks the meter against its last reading before the visit
-- (every other inspection also the one before that).
INSERT INTO field.meter_checks
  (visit_id, check_no, meter_id, reading_date, channel, checked_kwh, deviation_pct, changed_at)
SELECT v.visit_id, r.check_no, r.meter_id, r.reading_date, r.channel,
       r.kwh + (v.visit_id % 5) * 0.1,
       round((v.visit_id % 5) * 10.0 / r.kwh, 2),
       v.started_at + v.duration
FROM field.visits v
CROSS JOIN LATERAL (
  SELECT r.meter_id, r.reading_date, r.channel, r.kwh,
         row_number() OVER (ORDER BY r.reading_date DESC)::smallint AS check_no
  FROM network."MeterReadings" r
  WHERE r.meter_id = v.meter_id AND r.channel = 1 AND r.reading_date <= v.planned_for
  ORDER BY r.reading_date DESC
  LIMIT 2) r
WHERE v.outcome = 'inspected' AND (r.check_no = 1 OR v.visit_id % 8 = 0)
ORDER BY v.visit_id, r.check_no;

REFRESH MATERIALIZED VIEW network.substation_daily_kwh;
