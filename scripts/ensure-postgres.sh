#!/usr/bin/env bash
# The store tests run against a real PostgreSQL from Debian's packages (never a container, never skipped).
# Prints the server's base URL (postgresql://postgres@127.0.0.1:PORT) on stdout; everything else goes to stderr.
#
# 1. A server on 127.0.0.1:5432 that lets user postgres in with trust auth is used as it is.
# 2. Otherwise a private cluster in the project's .pgdata/ (or $DAILIES_PGDATA): Debian's postgresql is installed
#    when its binaries are missing (CI runs as root), initdb --auth=trust runs as the postgres OS user
#    (PostgreSQL refuses to run as root), and the server starts on the first free port from 55432
#    (or $DAILIES_PG_PORT). A second call finds the running cluster and prints its URL again.
# DAILIES_PG_FORCE_PRIVATE=1 skips step 1 (to test the private path on a machine that has a server).
# Any failure exits non-zero with the reason.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PGDATA_DIR="${DAILIES_PGDATA:-$ROOT/.pgdata}"
FIRST_PORT="${DAILIES_PG_PORT:-55432}"
START_TIMEOUT_S=60

log() { echo "ensure-postgres: $*" >&2; }
die() { echo "ERROR: ensure-postgres: $*" >&2; exit 1; }

# The newest Debian server binaries (/usr/lib/postgresql/<version>/bin), else whatever is on PATH.
find_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

# A server on this port lets postgres in without a password and runs a query.
answers() {
  local port="$1" isready="${2:-pg_isready}" psql="${3:-psql}"
  "$isready" -q -h 127.0.0.1 -p "$port" -t 3 >/dev/null 2>&1 &&
    PGCONNECT_TIMEOUT=5 "$psql" -X -q -w -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc 'select 1' \
      >/dev/null 2>&1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${DAILIES_PG_FORCE_PRIVATE:-}" != 1 ] && command -v pg_isready >/dev/null && command -v psql >/dev/null \
    && answers 5432; then
  echo "postgresql://postgres@127.0.0.1:5432"
  exit 0
fi

if ! BIN="$(find_bin)"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian's postgresql for the store tests..."
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
  fi
  BIN="$(find_bin)" || die "PostgreSQL's server binaries (initdb, pg_ctl) are missing and could not be installed.
       Run 'sudo apt-get install postgresql' (Debian) and re-run make test."
  # The package may have started its own cluster on 5432; use it if it trusts us.
  if [ "${DAILIES_PG_FORCE_PRIVATE:-}" != 1 ] && answers 5432 "$BIN/pg_isready" "$BIN/psql"; then
    echo "postgresql://postgres@127.0.0.1:5432"
    exit 0
  fi
fi

if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "there is no 'postgres' OS user to run the private cluster as
       (Debian's postgresql package creates it: apt-get install postgresql)"
fi

# One caller at a time sets the cluster up (two `make test` in one checkout would race on initdb and the port).
exec 9>"$PGDATA_DIR.lock" || die "cannot create the lock file $PGDATA_DIR.lock"
flock -w "$START_TIMEOUT_S" 9 || die "another ensure-postgres.sh holds $PGDATA_DIR.lock for over ${START_TIMEOUT_S} s"

# Already running (a previous call): reuse it. A server still recovering gets time to answer; one that is
# gone (killed: a stale postmaster.pid) is started again below.
deadline=$((SECONDS + START_TIMEOUT_S))
while [ -f "$PGDATA_DIR/postmaster.pid" ] && as_postgres "$BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; do
  port="$(sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
  if [ -n "$port" ] && answers "$port" "$BIN/pg_isready" "$BIN/psql"; then
    echo "postgresql://postgres@127.0.0.1:$port"
    exit 0
  fi
  [ "$SECONDS" -lt "$deadline" ] || die "the private cluster in $PGDATA_DIR runs but does not answer on \
127.0.0.1:${port:-?} after ${START_TIMEOUT_S} s (see $PGDATA_DIR/server.log)"
  sleep 0.2
done

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
  if [ -d "$PGDATA_DIR" ] && [ -n "$(ls -A "$PGDATA_DIR")" ]; then
    die "$PGDATA_DIR exists, is not empty and holds no cluster (a killed initdb?); remove it and re-run"
  fi
  mkdir -p "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA_DIR"
  as_postgres test -w "$PGDATA_DIR" || die "the postgres user cannot write $PGDATA_DIR (a parent folder closed to it?);
       set DAILIES_PGDATA to a folder it can reach"
  # C.UTF-8 where the system has it: lower()/ILIKE then fold non-ASCII letters, as on a production server.
  locale_opt=--no-locale
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale_opt=--locale=C.UTF-8; fi
  log "initdb --auth=trust into $PGDATA_DIR"
  as_postgres "$BIN/initdb" -D "$PGDATA_DIR" --auth=trust --username=postgres --encoding=UTF8 "$locale_opt" \
    >"$PGDATA_DIR.initdb.log" 2>&1 || { cat "$PGDATA_DIR.initdb.log" >&2; die "initdb failed"; }
  # Loopback TCP only (no socket file to collide with a system server's), and no durability: the
  # cluster holds throwaway test databases, and fsync would make every CREATE DATABASE slow.
  as_postgres sh -c "cat >> '$PGDATA_DIR/postgresql.conf'" <<'EOF'
# written by scripts/ensure-postgres.sh: a throwaway cluster for the tests
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
fi

port="$FIRST_PORT"
while port_busy "$port"; do
  port=$((port + 1))
  [ "$port" -lt $((FIRST_PORT + 100)) ] || die "no free port in $FIRST_PORT..$((FIRST_PORT + 99)) for the private cluster"
done
log "starting the private cluster on 127.0.0.1:$port"
# 9>&-: the server must not inherit the lock, or it would hold it for as long as it runs.
as_postgres "$BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t "$START_TIMEOUT_S" -o "-p $port" \
  start >&2 9>&- || { tail -n 20 "$PGDATA_DIR/server.log" >&2 || true; die "pg_ctl could not start the cluster in $PGDATA_DIR"; }

deadline=$((SECONDS + START_TIMEOUT_S))  # pg_ctl -w saw it ready; it must also take a query
until answers "$port" "$BIN/pg_isready" "$BIN/psql"; do
  [ "$SECONDS" -lt "$deadline" ] || die "the private cluster started but does not answer on 127.0.0.1:$port"
  sleep 0.2
done
echo "postgresql://postgres@127.0.0.1:$port"
