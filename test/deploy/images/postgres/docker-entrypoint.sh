#!/bin/bash
# Entrypoint of the Postgres stand-in image (our own; see Containerfile for the
# contract it keeps). First start on an empty PGDATA: initdb, the database, the
# init scripts, all against a server reachable through its socket only; then
# the real server replaces this shell.
set -Eeuo pipefail

log() { echo "postgres-entrypoint: $*" >&2; }

# Only flags given: they are the server's.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
  exec "$@"
fi

# Started as root: make the folders the server's and run as postgres.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

# Runs one file of /docker-entrypoint-initdb.d against the temporary server.
run_init_file() {
  local f="$1"
  case "$f" in
    *.sh)
      if [ -x "$f" ]; then log "running $f"; "$f"
      else
        log "sourcing $f"
        # shellcheck source=/dev/null # a file the user mounts
        . "$f"
      fi ;;
    *.sql) log "running $f"; psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$f" ;;
    *.sql.gz) log "running $f"; gzip -dc "$f" | psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" ;;
    *) log "ignoring $f" ;;
  esac
}

first_start() {
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    log "the database is not initialised and POSTGRES_PASSWORD is empty: set it (or POSTGRES_HOST_AUTH_METHOD=trust, for tests only)"
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"

  # The password reaches initdb through a pipe, never the command line.
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags.
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-}

  # initdb trusts local connections; every other client must authenticate.
  local method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  printf '\n# Added by the image: remote clients.\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"

  # A temporary server, listening on its Unix socket only.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD:-}}"

  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" --dbname postgres --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
  fi

  local f
  if [ -d /docker-entrypoint-initdb.d ]; then
    while IFS= read -r -d '' f; do
      run_init_file "$f"
    done < <(find /docker-entrypoint-initdb.d -mindepth 1 -maxdepth 1 \( -type f -o -type l \) -print0 | sort -z)
  fi

  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  log "initialisation complete"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  first_start
fi

exec "$@"
