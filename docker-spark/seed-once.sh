#!/usr/bin/env bash
# The compose `seed` service: seeds the ACME source the first time the stack starts, and leaves it
# alone afterwards (seeding again would wipe the changes simulated since). The database is reached
# with the usual libpq variables (PGHOST, PGUSER, PGDATABASE, PGPASSWORD) for the check, and with
# conf/docker.conf plus LAKEHOUSE_SOURCE_PASSWORD for the seed itself.
#
# To seed again on purpose: docker compose run --rm seed --force
set -euo pipefail

scale=${SEED_SCALE:-2}
schema=${SEED_SCHEMA:-operations}

if [[ ${1:-} != --force ]]; then
  tables=$(psql -v ON_ERROR_STOP=1 -tAc \
    "select count(*) from information_schema.tables where table_schema = '$schema'")
  if (( tables > 0 )); then
    echo "seed: schema $schema already has $tables tables; not seeding again (--force to reseed)"
    exit 0
  fi
fi

exec java -Xmx256m -cp "/opt/lakehouse/lakehouse-jobs.jar:/opt/spark/jars/*" \
  dev.lakehouse.jobs.LakehouseCli seed --env docker --scale "$scale"
