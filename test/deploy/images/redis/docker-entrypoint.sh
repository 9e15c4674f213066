#!/bin/sh
# Entrypoint of the Redis stand-in image (our own; see Containerfile).
set -eu

# A flag or a config file first: they are redis-server's.
case "${1:-}" in
  -*|*.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ]; then
  # Started as root: own the data folder, then run as the redis user.
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
  fi
  # Without a config file protected mode would refuse every remote client of a
  # password-less server; a container is reached from outside by design.
  case "${2:-}" in
    *.conf|-) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  # New files readable by the redis user only, unless the caller chose a umask.
  [ "$(umask)" = 0022 ] && umask 0077
fi

exec "$@"
