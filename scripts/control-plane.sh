#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1 for the deploy tests: etcd,
# kube-apiserver (RBAC, Pod Security admission on as by default),
# kube-controller-manager, kube-scheduler, and one node:
#   MESH_NODE=kwok (default)  kwok simulates the node: pods turn Running/Ready
#                             without running containers
#   MESH_NODE=real            a real node (scripts/node.sh): containerd, kubelet,
#                             kube-proxy, kube-router for NetworkPolicy and CoreDNS,
#                             pods on a bridge of their own that they cannot leave
#   control-plane.sh start   starts what is stopped, waits until the API answers
#                            and the node is Ready (real: and CoreDNS too),
#                            prints the kubeconfig path
#   control-plane.sh stop    stops every process it started and removes its state
#                            (real: every container, mount, interface, rule, cgroup)
#   control-plane.sh status
# Binaries come from scripts/deploy-tools.sh (via scripts/env.sh). State lives in
# $MESH_CONTROL_PLANE_DIR (default .mesh/control-plane); ports are picked free.
# The real node needs root; stop and status take the mode the state was started in.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
STATE="${MESH_CONTROL_PLANE_DIR:-$ROOT/.mesh/control-plane}"
PKI="$STATE/pki"
KUBECONFIG_FILE="$STATE/admin.kubeconfig"
# Cluster-internal ranges. With kwok they are only written into objects, never
# dialled; the real node's pods live in them, on a bridge of their own.
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/24
log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf 'control-plane: %s\n' "$*" >&2; exit 1; }

# A state folder keeps the mode it was started in, so that stop and status
# need no MESH_NODE.
if [[ -s "$STATE/mode" ]]; then MODE="$(cat "$STATE/mode")"; else MODE="${MESH_NODE:-kwok}"; fi
case "$MODE" in
  kwok) NODE_NAME=kwok-node-0 ;;
  real) NODE_NAME=mesh-node-0; source "$ROOT/scripts/node.sh" ;;
  *) die "MESH_NODE must be kwok or real, not '$MODE'" ;;
esac

require_tools() {
  local missing=()
  local tools=(etcd kube-apiserver kube-controller-manager kube-scheduler openssl curl)
  [[ "$MODE" == real ]] || tools+=(kwok)
  for t in "${tools[@]}"; do
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
  # 10.96.0.1 is the kubernetes Service; 10.244.0.1 the real node's bridge, where pods reach the server.
  cert apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:10.244.0.1"
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
  [[ -z "${MESH_NODE:-}" || "$MESH_NODE" == "$MODE" ]] || die "$STATE holds a $MODE node, not MESH_NODE=$MESH_NODE: stop it first"
  [[ "$MODE" != real || $EUID == 0 ]] || die "the real node needs root (containerd, the kubelet, iptables)"
  mkdir -p "$STATE"
  [[ -s "$STATE/mode" ]] || echo "$MODE" >"$STATE/mode"
  make_pki
  [[ -s "$STATE/ports" ]] || printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPI_PORT=%s\n' "$(free_port)" "$(free_port)" "$(free_port)" >"$STATE/ports"
  source "$STATE/ports"
  local server="https://127.0.0.1:$API_PORT"
  # The bridge and the firewall guard exist before any process of the cluster.
  [[ "$MODE" != real ]] || node_prepare
  kubeconfig admin "$server" "$KUBECONFIG_FILE"
  kubeconfig controller-manager "$server" "$STATE/controller-manager.kubeconfig"
  kubeconfig scheduler "$server" "$STATE/scheduler.kubeconfig"
  kubeconfig kwok "$server" "$STATE/kwok.kubeconfig"

  spawn etcd etcd --name mesh-test --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "mesh-test=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --quota-backend-bytes 1073741824
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  local apiserver_mode=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none)
  if [[ "$MODE" == real ]]; then
    # Pods reach the server through the kubernetes Service, whose endpoint is
    # the bridge address: the server listens on every address, and the
    # firewall guard admits only loopback and the bridge to its port. It calls
    # the kubelet (logs, exec, port-forward) with a client cert and checks the
    # kubelet's serving cert against the CA.
    # shellcheck disable=SC2054 # (the comma is InternalIP,Hostname's)
    apiserver_mode=(--bind-address 0.0.0.0 --advertise-address "$BRIDGE_IP" --endpoint-reconciler-type lease
      --kubelet-client-certificate "$PKI/kube-apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/kube-apiserver-kubelet-client.key"
      --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP,Hostname
      --enable-admission-plugins NodeRestriction)
    node_pki
  fi
  spawn kube-apiserver kube-apiserver "${apiserver_mode[@]}" --secure-port "$API_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --authorization-mode Node,RBAC \
    --profiling=false
  wait_for kube-apiserver 90 api "$server/readyz"

  # kwok renews the simulated node's heartbeat about once a minute, later on a loaded
  # machine: past the default 50 s grace the node lifecycle controller marks every pod
  # NotReady, and kwok never marks them Ready again (seen in CI after the real-node lane).
  local lifecycle=()
  [[ "$MODE" == kwok ]] && lifecycle=(--node-monitor-grace-period 5m)
  spawn kube-controller-manager kube-controller-manager --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --controllers '*,-nodeipam,-cloud-node-lifecycle' "${lifecycle[@]}"
  spawn kube-scheduler kube-scheduler --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

  if [[ "$MODE" == real ]]; then
    node_start "$server"
  else
    start_kwok "$server"
  fi
  log "ready at $server"
  printf '%s\n' "$KUBECONFIG_FILE"
}

start_kwok() {
  local server="$1" stages=()
  # kwok's own "fast" stages: nodes turn Ready at once, pods Running and Ready once scheduled.
  for f in "$(dirname "$(command -v kwok)")"/stages/{node,pod}/fast/*.yaml; do
    grep -q '^kind: Stage' "$f" && stages+=(--config "$f")
  done
  spawn kwok kwok --kubeconfig "$STATE/kwok.kubeconfig" "${stages[@]}" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "$POD_CIDR" --node-ip 10.244.0.1
  register_node "$server"
  wait_for "node $NODE_NAME Ready" 60 node_ready "$server"
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

# SIGTERM, then SIGKILL after 10 s.
stop_process() {
  running "$1" || return 0
  local pid; pid="$(cat "$STATE/$1.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  # The node first: it needs its containerd to remove the pods, and its saved
  # host state, which lives in the state folder.
  [[ "$MODE" != real ]] || node_stop
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    stop_process "$name"
  done
  # --one-file-system: never follow a mount that survived into another file system.
  rm -rf --one-file-system "$STATE"
}

status() {
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    if running "$name"; then echo "$name: running (pid $(cat "$STATE/$name.pid"))"; else echo "$name: stopped"; fi
  done
  if [[ "$MODE" == real ]]; then
    node_status
  elif running kwok; then echo "kwok: running (pid $(cat "$STATE/kwok.pid"))"; else echo "kwok: stopped"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: control-plane.sh start|stop|status" ;;
esac
