#!/bin/sh
# Entrypoint of the Envoy stand-in image (our own; see Containerfile).
set -eu

# Only flags given: they are Envoy's.
if [ "${1#-}" != "$1" ]; then
  set -- envoy "$@"
fi

# Started as root: run Envoy as ENVOY_UID/ENVOY_GID (default: the envoy user),
# with stdout/stderr still writable after dropping privileges.
if [ "$1" = envoy ] && [ "$(id -u)" = 0 ]; then
  uid="${ENVOY_UID:-101}"
  gid="${ENVOY_GID:-101}"
  if [ "$uid" != 0 ]; then
    chown "$uid:$gid" /dev/stdout /dev/stderr 2>/dev/null || true
    exec setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
  fi
fi

exec "$@"
