#!/usr/bin/env bash
# CI: validates docker-spark/docker-compose.yml without a Docker engine (syntax, schema, variable
# interpolation with docker-spark/.env). Exits non-zero on any error.
# Needs `docker compose` (v2) or `docker-compose` (e.g. Debian's package: apt-get install docker-compose).
set -euo pipefail
cd "$(dirname "$0")"

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "validate.sh: neither 'docker compose' nor 'docker-compose' is installed" >&2
  exit 2
fi

"${compose[@]}" -f docker-compose.yml config -q
echo "docker-spark/docker-compose.yml: valid (${compose[*]} $("${compose[@]}" version --short 2>/dev/null || true))"
