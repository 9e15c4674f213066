#!/usr/bin/env bash
# Starts the machine's Postgres, Redis and RabbitMQ on loopback (idempotent) and
# makes sure the test role exists. The tests create their own databases, vhosts
# and key prefixes on top of these.
set -euo pipefail
log() { printf '[setup] %s\n' "$*"; }
wait_for() { # wait_for <what> <command...>: up to 60 s
  local what="$1"; shift
  for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "setup: $what did not come up" >&2; return 1
}

# Postgres: loopback only; role "mesh" (password "mesh") may create databases.
PG_VERSION="$(ls /usr/lib/postgresql | sort -n | tail -1)"
PG_CONF="/etc/postgresql/$PG_VERSION/main/postgresql.conf"
grep -q "^listen_addresses = 'localhost'" "$PG_CONF" || echo "listen_addresses = 'localhost'" >> "$PG_CONF"
if ! pg_ctlcluster "$PG_VERSION" main status >/dev/null 2>&1; then
  log "starting postgres $PG_VERSION"
  pg_ctlcluster "$PG_VERSION" main start
fi
wait_for postgres pg_isready -h 127.0.0.1 -p 5432
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='mesh'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE mesh LOGIN CREATEDB PASSWORD 'mesh'\""

# Redis: the Debian config binds 127.0.0.1 and ::1 and daemonizes.
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  log "starting redis"
  redis-server /etc/redis/redis.conf
fi
wait_for redis redis-cli -h 127.0.0.1 ping

# RabbitMQ: AMQP, epmd and Erlang distribution on loopback only.
ENV_CONF=/etc/rabbitmq/rabbitmq-env.conf
grep -q '^NODE_IP_ADDRESS=127.0.0.1' "$ENV_CONF" || cat >> "$ENV_CONF" <<'CONF'
NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
CONF
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  log "starting rabbitmq"
  service rabbitmq-server start >/dev/null
fi
wait_for rabbitmq rabbitmqctl -q await_startup
