#!/bin/sh
# Entrypoint of the RabbitMQ stand-in image (our own; see Containerfile).
set -eu

# Only flags given: they are rabbitmq-server's.
if [ "${1#-}" != "$1" ]; then
  set -- rabbitmq-server "$@"
fi

# Started as root: own the data folder, then run as the rabbitmq user.
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq '{}' + 2>/dev/null || true
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi

exec "$@"
