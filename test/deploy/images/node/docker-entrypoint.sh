#!/bin/sh
# Entrypoint of the Node stand-in image (our own; see Containerfile): a first
# argument that is a flag, or not a command on PATH (a script file), goes to node.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v -- "$1" >/dev/null 2>&1; then
  set -- node "$@"
fi
exec "$@"
