#!/usr/bin/env bash
# A private PostgreSQL server for the test suite (Debian's package), started if it is not running.
#   STEPWELL_TEST_POSTGRES_PORT (default 54329); data in /var/tmp/stepwell-postgres.
# Prints nothing on success but the server's URL.
set -euo pipefail
PORT=${STEPWELL_TEST_POSTGRES_PORT:-54329}
DATA=/var/tmp/stepwell-postgres
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bin)" ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    die "PostgreSQL is missing: install Debian's 'postgresql' package, or set STEPWELL_TEST_POSTGRES_URL"
  say "apt-get install postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
BIN=$(pg_bin)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! as_postgres "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "initialising a test PostgreSQL cluster in $DATA"
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  say "starting PostgreSQL on 127.0.0.1:$PORT"
  as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k /tmp -c fsync=off -c max_connections=200" \
    start >/dev/null || die "PostgreSQL did not start; see $DATA/server.log"
fi
echo "$URL"
