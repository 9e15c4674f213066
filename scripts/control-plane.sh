#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1 for the deploy tests: etcd,
# kube-apiserver (RBAC, Pod Security admission on as by default),
# kube-controller-manager, kube-scheduler, and kwok simulating one node on
# which pods turn Running/Ready without running containers.
#   control-plane.sh start   starts what is stopped, waits until the API answers,
#                            prints the kubeconfig path
#   control-plane.sh stop    stops every process it started and removes its state
#   control-plane.sh status
# Binaries come from scripts/deploy-tools.sh (via scripts/env.sh). State lives in
# $MESH_CONTROL_PLANE_DIR (default .mesh/control-plane); ports are picked free.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
STATE="${MESH_CONTROL_PLANE_DIR:-$ROOT/.mesh/control-plane}"
PKI="$STATE/pki"
KUBECONFIG_FILE="$STATE/admin.kubeconfig"
NODE_NAME=kwok-node-0
# Cluster-internal ranges: only ever written into objects, never dialled (kwok runs no containers).
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/24
log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf 'control-plane: %s\n' "$*" >&2; exit 1; }

require_tools() {
  local missing=()
  for t in etcd kube-apiserver kube-controller-manager kube-scheduler kwok openssl curl; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}: run 'bash scripts/setup.sh' (it builds them into $MESH_CACHE), then 'source scripts/env.sh'"
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

running() { [[ -s "$STATE/$1.pid" ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

# One CA signs the API server's serving cert and every client cert.
make_pki() {
  [[ -s "$PKI/ca.crt" ]] && return 0
  mkdir -p "$PKI" && chmod 700 "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mesh-test-ca" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1"
  # Client identities RBAC's bootstrap roles know.
  cert admin "/O=system:masters/CN=mesh-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kwok "/O=system:masters/CN=kwok"
}

cert() {
  local name="$1" subject="$2" san="${3:-}"
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  local ext; ext="$(mktemp)"
  if [[ -n "$san" ]]; then
    printf '%s\nextendedKeyUsage=serverAuth\n' "$san" >"$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
  fi
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$ext" "$PKI/$name.csr"
}

kubeconfig() {
  local user="$1" server="$2" file="$3"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mesh-test
  cluster:
    server: $server
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI/$user.crt
    client-key: $PKI/$user.key
contexts:
- name: mesh-test
  context: { cluster: mesh-test, user: $user }
current-context: mesh-test
EOF
  chmod 600 "$file"
}

spawn() {
  local name="$1"; shift
  running "$name" && return 0
  "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready after ${seconds}s; see $STATE/*.log"
    sleep 0.5
  done
}

api() { curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }

start() {
  require_tools
  mkdir -p "$STATE"
  make_pki
  [[ -s "$STATE/ports" ]] || printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPI_PORT=%s\n' "$(free_port)" "$(free_port)" "$(free_port)" >"$STATE/ports"
  source "$STATE/ports"
  local server="https://127.0.0.1:$API_PORT"
  kubeconfig admin "$server" "$KUBECONFIG_FILE"
  kubeconfig controller-manager "$server" "$STATE/controller-manager.kubeconfig"
  kubeconfig scheduler "$server" "$STATE/scheduler.kubeconfig"
  kubeconfig kwok "$server" "$STATE/kwok.kubeconfig"

  spawn etcd etcd --name mesh-test --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "mesh-test=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --quota-backend-bytes 1073741824
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  spawn kube-apiserver kube-apiserver --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --authorization-mode Node,RBAC \
    --endpoint-reconciler-type none --profiling=false
  wait_for kube-apiserver 90 api "$server/readyz"

  spawn kube-controller-manager kube-controller-manager --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --controllers '*,-nodeipam,-cloud-node-lifecycle'
  spawn kube-scheduler kube-scheduler --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

  local stages=()
  # kwok's own "fast" stages: nodes turn Ready at once, pods Running and Ready once scheduled.
  for f in "$(dirname "$(command -v kwok)")"/stages/{node,pod}/fast/*.yaml; do
    grep -q '^kind: Stage' "$f" && stages+=(--config "$f")
  done
  spawn kwok kwok --kubeconfig "$STATE/kwok.kubeconfig" "${stages[@]}" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "$POD_CIDR" --node-ip 10.244.0.1
  register_node "$server"
  wait_for "node $NODE_NAME Ready" 60 node_ready "$server"
  log "ready at $server"
  printf '%s\n' "$KUBECONFIG_FILE"
}

register_node() {
  api "$1/api/v1/nodes/$NODE_NAME" >/dev/null && return 0
  api -X POST -H 'Content-Type: application/json' "$1/api/v1/nodes" -d @- >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$NODE_NAME",
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"kubernetes.io/hostname":"$NODE_NAME","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}},
 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},"capacity":{"cpu":"32","memory":"256Gi","pods":"110"}}}
EOF
}

node_ready() {
  api "$1/api/v1/nodes/$NODE_NAME" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const ready = (JSON.parse(s).status.conditions ?? []).find((c) => c.type === "Ready");
      process.exit(ready?.status === "True" ? 0 : 1);
    });'
}

stop() {
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if running "$name"; then
      local pid; pid="$(cat "$STATE/$name.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$STATE"
}

status() {
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    if running "$name"; then echo "$name: running (pid $(cat "$STATE/$name.pid"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: control-plane.sh start|stop|status" ;;
esac
