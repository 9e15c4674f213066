# Source this to put the project's local toolchain (from scripts/setup.sh) first on PATH.
MESH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MESH_TOOLS="$MESH_ROOT/.tools"
export PATH="$MESH_TOOLS/node/bin:$MESH_TOOLS/venv/bin:$PATH"
export ENVOY_BIN="$MESH_TOOLS/venv/bin/envoy"
export ZIPKIN_JAR="$MESH_TOOLS/zipkin/zipkin-server-exec.jar"
