-- Example source 2: the metering network of a regional electricity distributor.
--
-- Two schemas: `network` holds the assets (substations, feeders, meters, tariffs) and the readings
-- the meters send; `field` holds the maintenance crews' work (technicians, visits, check readings).
-- Nothing here resembles ACME: composite and character keys, a partitioned fact, a key that is a
-- unique index rather than a primary key, cursors of four different types, and a view.
--
-- seed.sql fills it deterministically, day.sql applies a day of changes. Statements are plain SQL,
-- run one after another (psql -f, or JDBC in auto-commit).
--
-- Change-time columns, and what `lakehouse discover` makes of them:
--   network.substations.updated_on    date,                        NOT NULL, indexed -> incremental
--   network.feeders.last_update       timestamp without time zone, NOT NULL, indexed -> incremental
--   network.meters.updated_at         timestamptz,                 NOT NULL, indexed -> incremental
--   network."MeterReadings".modified_at timestamptz,               NOT NULL, indexed -> incremental
--   field.visits.version              bigint from one sequence,    NOT NULL, indexed -> full: the name
--                                     is not a change-time name; discover says the table could be
--                                     incremental on it (see the comment on the table)
--   field.meter_checks.changed_at     timestamptz, NOT NULL, but not indexed -> full, with a note
--   network.tariffs, field.technicians: no change-time column at all -> full

CREATE SCHEMA network;
CREATE SCHEMA field;

CREATE TYPE network.meter_status AS ENUM ('installed', 'active', 'faulty', 'removed');

-- Energy is never negative; export (solar) is a separate channel, not a negative value.
CREATE DOMAIN network.kwh AS numeric(12,3) CHECK (VALUE >= 0);

-- Primary substations (132 kV) feed secondary ones (11 kV): parent_code is a self-reference.
-- Substations change rarely and their system only keeps the day of the last change.
CREATE TABLE network.substations (
  substation_code character(6) PRIMARY KEY,
  parent_code     character(6) REFERENCES network.substations,
  name            text NOT NULL,
  region          text NOT NULL,
  voltage_kv      numeric(5,1) NOT NULL,
  capacity_mva    numeric,                          -- numeric without precision or scale
  scada_ip        inet,                             -- NULL: not connected to SCADA
  commissioned_on date NOT NULL,
  updated_on      date NOT NULL DEFAULT current_date
);
CREATE INDEX substations_updated_on ON network.substations (updated_on);

-- Feeders are numbered within their substation: a composite key whose order (substation_code,
-- feeder_no) is not the column order. The feeder system writes local time without a zone.
CREATE TABLE network.feeders (
  feeder_no       smallint NOT NULL,
  substation_code character(6) NOT NULL REFERENCES network.substations,
  name            text NOT NULL,
  rated_amps      integer NOT NULL,
  phases          text[] NOT NULL DEFAULT '{L1,L2,L3}',
  last_update     timestamp without time zone NOT NULL DEFAULT localtimestamp,
  PRIMARY KEY (substation_code, feeder_no)
);
CREATE INDEX feeders_last_update ON network.feeders (last_update);

-- Tariffs have no change-time column: the pricing team edits them in place.
CREATE TABLE network.tariffs (
  tariff_code     text PRIMARY KEY,
  name            text NOT NULL,
  energy_rate     numeric NOT NULL,                 -- per kWh, as many decimals as the regulator gives
  standing_charge money NOT NULL,                   -- per day
  peak_start      time without time zone,
  peak_end        time without time zone,
  peak_days       int[],                            -- ISO weekdays 1..7; NULL: no peak period
  description     text                              -- NULL: never written; '': deliberately blank
);

-- Meters: a uuid key, a mixed-case column ("SerialNo"), an enum, an array, jsonb, and a composite
-- foreign key to the feeder they hang on.
CREATE TABLE network.meters (
  meter_id        uuid PRIMARY KEY,
  "SerialNo"      text NOT NULL UNIQUE,
  model           text NOT NULL,
  status          network.meter_status NOT NULL DEFAULT 'installed',
  feeder_no       smallint NOT NULL,
  substation_code character(6) NOT NULL,
  tariff_code     text NOT NULL REFERENCES network.tariffs,
  firmware        text,                             -- NULL: not reported yet
  tags            text[] NOT NULL DEFAULT '{}',
  settings        jsonb NOT NULL DEFAULT '{}',
  installed_on    date NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (substation_code, feeder_no) REFERENCES network.feeders (substation_code, feeder_no)
);
CREATE INDEX meters_updated_at ON network.meters (updated_at);
CREATE INDEX meters_feeder ON network.meters (substation_code, feeder_no);

-- The fact: one reading per meter, day and channel (1 = import, 2 = export from solar panels),
-- partitioned by month of the reading date. substation_code is the data concentrator that relayed
-- the reading: normally the meter's own substation, its parent when the local one was down.
CREATE TABLE network."MeterReadings" (
  meter_id        uuid NOT NULL REFERENCES network.meters,
  reading_date    date NOT NULL,
  channel         smallint NOT NULL CHECK (channel IN (1, 2)),
  substation_code character(6) NOT NULL REFERENCES network.substations,
  kwh             network.kwh NOT NULL,
  origin          text NOT NULL DEFAULT 'actual' CHECK (origin IN ('actual', 'estimated')),
  read_at         timestamptz NOT NULL,
  modified_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, reading_date, channel)
) PARTITION BY RANGE (reading_date);
CREATE TABLE network."MeterReadings_2025_01" PARTITION OF network."MeterReadings"
  FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE network."MeterReadings_2025_02" PARTITION OF network."MeterReadings"
  FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
-- Readings of later days (day.sql's "today") land here until someone adds their month.
CREATE TABLE network."MeterReadings_later" PARTITION OF network."MeterReadings" DEFAULT;
CREATE INDEX "MeterReadings_modified_at" ON network."MeterReadings" (modified_at);

-- Load per substation and day, refreshed by a nightly job. A materialized view has no primary key
-- but can have a unique index: discover keys it by that index.
CREATE MATERIALIZED VIEW network.substation_daily_kwh AS
  SELECT substation_code, reading_date,
         coalesce(sum(kwh) FILTER (WHERE channel = 1), 0) AS imported_kwh,
         coalesce(sum(kwh) FILTER (WHERE channel = 2), 0) AS exported_kwh,
         count(DISTINCT meter_id) AS meters
  FROM network."MeterReadings"
  GROUP BY substation_code, reading_date
  WITH NO DATA;
CREATE UNIQUE INDEX substation_daily_kwh_key ON network.substation_daily_kwh (substation_code, reading_date);

-- Technicians come from the HR export: no primary key, but employee numbers are unique and never
-- NULL (character(8), so 'T-0001' is stored blank-padded). The unique index is also the replica
-- identity, for log-based extraction.
CREATE TABLE field.technicians (
  employee_no    character(8) NOT NULL,
  full_name      text NOT NULL,
  email          text,                              -- NULL: not asked yet; '': has no e-mail
  certifications text[] NOT NULL DEFAULT '{}',
  shift_start    time with time zone NOT NULL,
  hired_on       date NOT NULL
);
CREATE UNIQUE INDEX technicians_employee_no ON field.technicians (employee_no);
ALTER TABLE field.technicians REPLICA IDENTITY USING INDEX technicians_employee_no;

-- Maintenance visits to meters. Every insert and update takes `version` from one sequence, so it
-- only grows across the whole table: a valid integer cursor (a per-row version + 1 would not be:
-- a row going from 3 to 4 would hide behind a watermark of 500).
CREATE SEQUENCE field.visit_changes;
CREATE TABLE field.visits (
  visit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  meter_id     uuid NOT NULL REFERENCES network.meters,
  employee_no  character(8) REFERENCES field.technicians (employee_no),  -- NULL: not assigned yet
  planned_for  date NOT NULL,
  started_at   timestamptz,
  duration     interval,
  outcome      text,                                -- NULL: still open
  notes        text,                                -- NULL: no notes taken; '': submitted empty
  notes_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(notes, ''))) STORED,
  checklist    json,
  photo        bytea,
  client_ip    inet,
  version      bigint NOT NULL
);
CREATE INDEX visits_version ON field.visits (version);
CREATE INDEX visits_meter ON field.visits (meter_id);
CREATE FUNCTION field.next_visit_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := nextval('field.visit_changes');
  RETURN NEW;
END
$$;
CREATE TRIGGER visits_version BEFORE INSERT OR UPDATE ON field.visits
  FOR EACH ROW EXECUTE FUNCTION field.next_visit_version();

-- Check readings a technician takes on site, against the reading the meter sent: a composite
-- primary key, and a composite foreign key to the partitioned readings table.
CREATE TABLE field.meter_checks (
  visit_id      bigint NOT NULL REFERENCES field.visits ON DELETE CASCADE,
  check_no      smallint NOT NULL,
  meter_id      uuid NOT NULL,
  reading_date  date NOT NULL,
  channel       smallint NOT NULL,
  checked_kwh   network.kwh NOT NULL,
  deviation_pct numeric(6,2),
  changed_at    timestamptz NOT NULL DEFAULT now(),  -- a change time, but no index leads with it
  PRIMARY KEY (visit_id, check_no),
  FOREIGN KEY (meter_id, reading_date, channel) REFERENCES network."MeterReadings" (meter_id, reading_date, channel)
);

-- What the dispatchers look at: visits not closed yet.
CREATE VIEW field.open_visits AS
  SELECT v.visit_id, v.planned_for, m."SerialNo", m.substation_code, t.full_name AS technician
  FROM field.visits v
  JOIN network.meters m ON m.meter_id = v.meter_id
  LEFT JOIN field.technicians t ON t.employee_no = v.employee_no
  WHERE v.outcome IS NULL;
