# Source this to put the project's local toolchain (from scripts/setup.sh) first on PATH.
MESH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MESH_ROOT/scripts/versions.sh"
export MESH_TOOLS="$MESH_ROOT/.tools"
# Engines built from source (scripts/deploy-tools.sh) live outside the clone so
# every clone on this machine reuses them.
export MESH_CACHE="${MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/envoy-mesh}"
for _mesh_dir in "pulumi-$PULUMI_VERSION" "pulumi-resource-kubernetes-$PULUMI_KUBERNETES_PROVIDER_VERSION" \
  "kubernetes-$KUBERNETES_VERSION" "etcd-$ETCD_VERSION" "kwok-$KWOK_VERSION" "docker-$DOCKER_ENGINE_VERSION" \
  "kubernetes-node-$KUBERNETES_VERSION" "node-tools-$CRI_TOOLS_VERSION-$COREDNS_VERSION-$KUBE_ROUTER_VERSION"; do
  [[ -d "$MESH_CACHE/$_mesh_dir" && ":$PATH:" != *":$MESH_CACHE/$_mesh_dir:"* ]] && PATH="$MESH_CACHE/$_mesh_dir:$PATH"
done
unset _mesh_dir
export PATH="$MESH_TOOLS/node/bin:$MESH_TOOLS/venv/bin:$PATH"
export ENVOY_BIN="$MESH_TOOLS/venv/bin/envoy"
export ZIPKIN_JAR="$MESH_TOOLS/zipkin/zipkin-server-exec.jar"
