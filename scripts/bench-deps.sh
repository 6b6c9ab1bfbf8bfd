#!/usr/bin/env bash
# What `make bench` needs beyond pip: wrk (the load client) and a PostgreSQL server with a role that may create
# the benchmark's database. Installs and starts them when run as root (or with password-less sudo); otherwise
# says what is missing. With BENCH_PG_URL (or a PostgreSQL DATABASE_URL) set, the server is not touched.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi
need=()
command -v wrk >/dev/null || need+=(wrk)
pg_url="${BENCH_PG_URL:-}"
case "${DATABASE_URL:-}" in postgresql*) pg_url="${pg_url:-$DATABASE_URL}";; esac
if [ -z "$pg_url" ] && ! command -v pg_lsclusters >/dev/null; then need+=(postgresql); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$SUDO" = "none" ]; then
    echo "Missing Debian packages: ${need[*]}. Run: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -n "$pg_url" ] && exit 0
# The local cluster: started if down; the role lms/lms with CREATEDB created if absent.
if [ "$SUDO" = "none" ]; then
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }
  exit 0
fi
read -r ver name _ < <(pg_lsclusters -h | head -n1)
pg_isready -q -h 127.0.0.1 -p 5432 || $SUDO pg_ctlcluster "$ver" "$name" start
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
if ! PGPASSWORD=lms psql -h 127.0.0.1 -U lms -d postgres -tAc "select 1" >/dev/null 2>&1; then
  $SUDO su postgres -c "psql -q -c \"CREATE ROLE lms LOGIN PASSWORD 'lms' CREATEDB\""
fi
