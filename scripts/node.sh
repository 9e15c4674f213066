# shellcheck shell=bash
# The real node of the test cluster: what `MESH_NODE=real scripts/control-plane.sh
# start` runs instead of kwok. Sourced by control-plane.sh, whose helpers and
# variables it uses (STATE, PKI, ROOT, SERVICE_CIDR, POD_CIDR, NODE_NAME, log,
# die, cert, kubeconfig, spawn, running, stop_process, wait_for, api, free_port).
#
# One node, mesh-node-0, on this machine:
#   containerd   own root, state, socket and runc state under $STATE/node
#   CNI          the bridge plugin on its own bridge (meshbr0, 10.244.0.1/24),
#                host-local IPAM, portmap for hostPorts
#   kubelet      cgroupfs under its own cgroup root (/mesh-node), serving on the
#                bridge address with a cert from the cluster CA
#   kube-proxy   iptables mode, NodePorts on 127.0.0.1 and the bridge address only
#   kube-router  NetworkPolicy enforcement only (no routing, no service proxy)
#   CoreDNS      a Deployment in kube-system behind the kube-dns Service (10.96.0.10),
#                serving the cluster's zones only: no upstream at all
#
# Containment: pods never reach past the bridge. Before anything can start a
# pod, a firewall table of our own (inet mesh_node_guard) drops whatever a pod
# sends that would leave the bridge (routed out of any other interface, or to
# any host address but the API server's port on the bridge address), whatever
# would be routed from elsewhere into the bridge, and any API server connection
# that does not come from loopback or the bridge. Pods get a route to the
# service range only (no default route), and their DNS is CoreDNS, which
# forwards nothing.
#
# Stop undoes everything: pods and containers, processes, mounts under $STATE,
# the bridge and veths, iptables chains and ipsets of kube-proxy, kube-router,
# the kubelet and portmap, nftables tables that were not there before, cgroups,
# files the kubelet and containerd leave outside $STATE, and the sysctls the
# node's programs change (IP forwarding among them), back to their values from
# before the start.
[[ "${BASH_SOURCE[0]}" != "$0" ]] || {
  echo "node.sh is sourced by scripts/control-plane.sh: MESH_NODE=real scripts/control-plane.sh start|stop|status" >&2
  exit 2
}

NODE_DIR="$STATE/node"
NODE_CONFIG="$ROOT/test/deploy/node-config"
BRIDGE=meshbr0
BRIDGE_IP=10.244.0.1
CLUSTER_DNS=10.96.0.10
CNI_NETWORK=mesh-node
CGROUP_ROOT=mesh-node
GUARD_TABLE=mesh_node_guard
CONTAINERD_SOCK="$NODE_DIR/containerd.sock"
RUNC_ROOT="$NODE_DIR/runc"
NODE_PROCESSES=(containerd kubelet kube-proxy kube-router)
# What the node's programs may change on the host (the kubelet's kernel
# tunables, kube-proxy's route_localnet, the bridge plugin's ip_forward),
# saved before the start and written back by stop.
HOST_SYSCTLS=(
  net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.conf.all.route_localnet
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_tcp_be_liberal
)
# Host folders the kubelet, containerd and libcni create outside $STATE (the
# kubelet's device-plugin folder is fixed, whatever its root dir); removed by
# stop (deepest first) when they were not there before and are empty again.
HOST_DIRS=(/var/log/containers /var/lib/kubelet/device-plugins /var/lib/kubelet
  /var/lib/cni/results /var/lib/cni/networks /var/lib/cni /run/containerd/s /run/containerd)

crictl_() { crictl --runtime-endpoint "unix://$CONTAINERD_SOCK" --image-endpoint "unix://$CONTAINERD_SOCK" --timeout 30s "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

node_require_tools() {
  local missing=() t
  for t in kubelet kube-proxy kube-router crictl containerd containerd-shim-runc-v2 ctr runc ip nft \
    iptables ip6tables iptables-save iptables-restore ip6tables-save ip6tables-restore ipset conntrack jq perl buildah; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  for t in bridge host-local portmap loopback; do [[ -x "/usr/lib/cni/$t" ]] || missing+=("/usr/lib/cni/$t"); done
  ((${#missing[@]} == 0)) || die "the real node needs ${missing[*]}: 'bash scripts/deploy-tools.sh node' builds kubelet, kube-proxy, crictl, CoreDNS and kube-router; containerd, runc, the CNI plugins, iptables, nftables, ipset and conntrack are Debian packages"
  # A unix socket path longer than this does not fit in sockaddr_un.
  ((${#CONTAINERD_SOCK} < 100)) || die "state folder path too long for containerd's socket: $CONTAINERD_SOCK"
}

# Fills the @NAME@ placeholders of a template from the environment; an unset one is an error.
render() {
  perl -pe 's/@([A-Z][A-Z0-9_]*)@/exists $ENV{$1} ? $ENV{$1} : die("$ARGV: \@$1\@ is not set\n")/ge' "$1" >"$2.tmp"
  mv "$2.tmp" "$2"
}

cidr_prefix() { printf '%s' "${1#*/}"; }

# The in-addr.arpa zone of a /8, /16 or /24 range (what CoreDNS's kubernetes plugin can serve).
reverse_zone() {
  local ip="${1%/*}" bits="${1#*/}" a b c
  IFS=. read -r a b c _ <<<"$ip"
  case "$bits" in
    8) printf '%s.in-addr.arpa' "$a" ;;
    16) printf '%s.%s.in-addr.arpa' "$b" "$a" ;;
    24) printf '%s.%s.%s.in-addr.arpa' "$c" "$b" "$a" ;;
    *) die "reverse_zone: $1 is not a /8, /16 or /24" ;;
  esac
}

# --- before the control plane ------------------------------------------------

# Records the host's state that the node changes, once per state folder (a
# second start must not record what the first one changed).
snapshot_host() {
  local saved="$NODE_DIR/saved" k v d
  [[ -s "$saved/sysctl" ]] && return 0
  mkdir -p "$saved"
  for k in "${HOST_SYSCTLS[@]}"; do
    v="$(sysctl -n "$k" 2>/dev/null)" && printf '%s=%s\n' "$k" "$v"
  done >"$saved/sysctl.tmp"
  nft list tables >"$saved/nft-tables"
  # portmap's chains (CNI-*) are shared with any other CNI user of this host:
  # only the ones that appear while the node runs are removed.
  { iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | sed -n 's/^:\(CNI-[^ ]*\) .*/\1/p' | sort -u >"$saved/cni-chains"
  for d in "${HOST_DIRS[@]}"; do [[ -e "$d" ]] && printf '%s\n' "$d"; done >"$saved/host-dirs"
  mv "$saved/sysctl.tmp" "$saved/sysctl"
}

# The bridge exists before the API server starts: the server advertises its
# address, the kubelet serves on it, and the firewall guard names it.
create_bridge() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    [[ -e "$NODE_DIR/saved/bridge" ]] || die "$BRIDGE exists but this state folder did not create it: is another real node running?"
    return 0
  fi
  ip link add "$BRIDGE" type bridge
  touch "$NODE_DIR/saved/bridge"
  ip addr add "$BRIDGE_IP/$(cidr_prefix "$POD_CIDR")" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# In its own table: nothing else's rules are touched, and `nft delete table`
# removes it whole. A drop here is final whatever other tables accept.
install_guard() {
  nft -f - <<EOF
table inet $GUARD_TABLE
delete table inet $GUARD_TABLE
table inet $GUARD_TABLE {
  chain forward {
    type filter hook forward priority -10; policy accept;
    # Pods never leave the bridge, whatever they address (the host's resolver,
    # the LAN, the internet); and nothing is routed into the bridge from elsewhere.
    iifname "$BRIDGE" oifname != "$BRIDGE" drop
    oifname "$BRIDGE" iifname != "$BRIDGE" drop
  }
  chain input {
    type filter hook input priority -10; policy accept;
    # The API server listens on every address; only loopback and the pods may talk to it.
    tcp dport $API_PORT iifname != { "lo", "$BRIDGE" } drop
    # The bridge's addresses (kubelet, NodePorts) are not for other interfaces.
    iifname != { "lo", "$BRIDGE" } ip daddr $POD_CIDR drop
    # From the pods to the host: replies, and new connections to the API server only.
    iifname "$BRIDGE" ct state established,related accept
    iifname "$BRIDGE" ip daddr $BRIDGE_IP tcp dport $API_PORT accept
    iifname "$BRIDGE" drop
  }
}
EOF
}

# Everything that must be in place before a process of the cluster runs.
node_prepare() {
  node_require_tools
  mkdir -p "$NODE_DIR"
  snapshot_host
  create_bridge
  install_guard
}

# --- certificates, kubeconfigs, configuration -------------------------------------

node_pki() {
  # The API server's client identity towards the kubelet (logs, exec, port-forward);
  # RBAC binds it to system:kubelet-api-admin (test/deploy/node-config/rbac.json).
  [[ -s "$PKI/kube-apiserver-kubelet-client.crt" ]] || cert kube-apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client"
  # The node's identity: the Node authorizer and NodeRestriction key on these names.
  [[ -s "$PKI/kubelet.crt" ]] || cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  # The kubelet's serving cert, which the API server verifies against the CA.
  [[ -s "$PKI/kubelet-serving.crt" ]] || cert kubelet-serving "/CN=system:node:$NODE_NAME" "subjectAltName=IP:$BRIDGE_IP,DNS:$NODE_NAME"
  # system:kube-proxy is bound to system:node-proxier by RBAC's bootstrap policy.
  [[ -s "$PKI/kube-proxy.crt" ]] || cert kube-proxy "/CN=system:kube-proxy"
  [[ -s "$PKI/kube-router.crt" ]] || cert kube-router "/CN=mesh:kube-router"
}

node_ports() {
  [[ -s "$NODE_DIR/ports" ]] || printf 'KUBELET_PORT=%s\nKUBELET_HEALTHZ_PORT=%s\nPROXY_HEALTHZ_PORT=%s\nPROXY_METRICS_PORT=%s\n' \
    "$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)" >"$NODE_DIR/ports"
  # shellcheck source=/dev/null
  source "$NODE_DIR/ports"
}

# --- images ---------------------------------------------------------------------

# A FROM scratch image of one static binary, as an OCI archive in the cache:
# the stand-in for pause or CoreDNS when scripts/images.sh has not built them.
fallback_image() {
  local name="$1" binary="$2" user="$3" ref="$4"
  local archive="$MESH_CACHE/node-images/${ref##*/}.tar"
  archive="${archive/:/-}"
  if [[ ! -s "$archive" ]]; then
    log "building $ref (scripts/images.sh has not built $name)"
    mkdir -p "$(dirname "$archive")"
    local c
    c="$(buildah from scratch)"
    buildah copy --quiet --chmod 0755 "$c" "$binary" "/$name" >/dev/null
    buildah config --entrypoint "[\"/$name\"]" --user "$user" "$c"
    buildah commit --quiet --rm "$c" "$ref" >/dev/null
    buildah push --quiet "$ref" "oci-archive:$archive.partial:$ref"
    buildah rmi "$ref" >/dev/null
    mv "$archive.partial" "$archive"
  fi
  printf '%s\t%s\n' "$ref" "$archive"
}

# Decides the pause and CoreDNS references (the containerd config names the
# first), from scripts/images.sh's manifest when it lists them.
node_resolve_images() {
  local manifest="$MESH_CACHE/images/manifest.json" line
  PAUSE_IMAGE="" COREDNS_IMAGE="" FALLBACK_IMAGES=()
  if [[ -s "$manifest" ]]; then
    PAUSE_IMAGE="$(jq -r '.pause // empty' "$manifest")"
    COREDNS_IMAGE="$(jq -r '.coredns // empty' "$manifest")"
  fi
  if [[ -z "$PAUSE_IMAGE" ]]; then
    local pause="$MESH_CACHE/kubernetes-node-$KUBERNETES_VERSION/pause"
    [[ -x "$pause" ]] || die "no pause binary at $pause: run 'bash scripts/deploy-tools.sh node'"
    line="$(fallback_image pause "$pause" 65535:65535 "localhost/mesh-node/pause:v$KUBERNETES_VERSION")"
    PAUSE_IMAGE="${line%%$'\t'*}" FALLBACK_IMAGES+=("$line")
  fi
  if [[ -z "$COREDNS_IMAGE" ]]; then
    line="$(fallback_image coredns "$(command -v coredns)" 65532:65532 "localhost/mesh-node/coredns:v$COREDNS_VERSION")"
    COREDNS_IMAGE="${line%%$'\t'*}" FALLBACK_IMAGES+=("$line")
  fi
}

# Into containerd's k8s.io namespace (the CRI's), before the kubelet can ask
# for them: every image scripts/images.sh's manifest lists for the cluster (the
# set its own `import` takes: the mesh's, pause, CoreDNS, probe), then the
# stand-ins built here; whatever is there already is skipped. The list is read
# once, not piped into grep -q: under pipefail an early grep exit fails the
# pipeline (SIGPIPE) when the list goes on past the match.
node_import_images() {
  local manifest="$MESH_CACHE/images/manifest.json" present ref archive
  present="$(ctr_ images ls -q)"
  while IFS=$'\t' read -r ref archive; do
    grep -qxF "$ref" <<<"$present" && continue
    [[ -s "$archive" ]] || die "the archive of $ref ($archive) is missing: run 'bash scripts/images.sh build'"
    log "importing $ref"
    ctr_ images import "$archive" >/dev/null
  done < <(
    if [[ -s "$manifest" ]]; then
      jq -r '.archiveOf as $of | [.images[]?, .appImages[]?, .coredns, .pause, .probe][] | select(. != null) | [., $of[.]] | @tsv' "$manifest"
    fi
    if ((${#FALLBACK_IMAGES[@]})); then printf '%s\n' "${FALLBACK_IMAGES[@]}"; fi
  )
  present="$(ctr_ images ls -q)"
  for ref in "$PAUSE_IMAGE" "$COREDNS_IMAGE"; do
    grep -qxF "$ref" <<<"$present" || die "image $ref is not in the node's containerd after the import"
  done
}

# --- the API objects the node needs --------------------------------------------------

# Creates each item of a v1 List (JSON) unless it exists (looked up first: a
# Service with a fixed clusterIP that exists fails validation, 422, before it
# could conflict, 409). The resource path is derived from apiVersion and kind,
# which holds for the kinds used here.
api_apply_list() {
  local server="$1" file="$2" item path code out
  out="$(mktemp)"
  while IFS= read -r item; do
    path="$(jq -r '
      (if (.apiVersion | contains("/")) then "/apis/" else "/api/" end) + .apiVersion
      + (if .metadata.namespace then "/namespaces/" + .metadata.namespace else "" end)
      + "/" + (.kind | ascii_downcase | if endswith("y") then .[:-1] + "ies" else . + "s" end)' <<<"$item")"
    api "$server$path/$(jq -r .metadata.name <<<"$item")" >/dev/null 2>&1 && continue
    code="$(curl -s -o "$out" -w '%{http_code}' --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
      -X POST -H 'Content-Type: application/json' --data-binary "$item" "$server$path")"
    case "$code" in
      201 | 409) ;;
      *) die "creating $(jq -r '.kind + " " + .metadata.name' <<<"$item") failed ($code): $(cat "$out")" ;;
    esac
  done < <(jq -c '.items[]' "$file")
  rm -f "$out"
}

coredns_ready() {
  api "$1/apis/apps/v1/namespaces/kube-system/deployments/coredns" |
    jq -e '(.status.readyReplicas // 0) >= .spec.replicas and .status.observedGeneration == .metadata.generation' >/dev/null
}

# --- start ------------------------------------------------------------------------

node_start() {
  local server="$1"
  node_pki
  node_ports
  kubeconfig kubelet "$server" "$NODE_DIR/kubelet.kubeconfig"
  kubeconfig kube-proxy "$server" "$NODE_DIR/kube-proxy.kubeconfig"
  kubeconfig kube-router "$server" "$NODE_DIR/kube-router.kubeconfig"
  api_apply_list "$server" "$NODE_CONFIG/rbac.json"

  node_resolve_images
  mkdir -p "$NODE_DIR/cni/net.d" "$NODE_DIR/cni/ipam" "$NODE_DIR/pod-logs" "$NODE_DIR/kubelet"
  export NODE_DIR CONTAINERD_SOCK PAUSE_IMAGE COREDNS_IMAGE BRIDGE BRIDGE_IP CNI_NETWORK POD_CIDR SERVICE_CIDR \
    CLUSTER_DNS CGROUP_ROOT PKI NODE_NAME KUBELET_PORT KUBELET_HEALTHZ_PORT PROXY_HEALTHZ_PORT PROXY_METRICS_PORT
  RUNC="$(command -v runc)" render "$NODE_CONFIG/containerd.toml" "$NODE_DIR/containerd.toml"
  render "$NODE_CONFIG/cni.conflist" "$NODE_DIR/cni/net.d/10-$CNI_NETWORK.conflist"
  render "$NODE_CONFIG/kubelet.yaml" "$NODE_DIR/kubelet.yaml"
  render "$NODE_CONFIG/kube-proxy.yaml" "$NODE_DIR/kube-proxy.yaml"
  # Pods with dnsPolicy Default (CoreDNS itself) get this file: the cluster DNS,
  # never the host's resolver.
  printf 'nameserver %s\noptions ndots:5\n' "$CLUSTER_DNS" >"$NODE_DIR/resolv.conf"
  local pod_zone svc_zone
  pod_zone="$(reverse_zone "$POD_CIDR")" svc_zone="$(reverse_zone "$SERVICE_CIDR")"
  REVERSE_ZONES="$pod_zone $svc_zone" render "$NODE_CONFIG/Corefile" "$NODE_DIR/Corefile"
  COREFILE_JSON="$(jq -Rs . "$NODE_DIR/Corefile")" render "$NODE_CONFIG/coredns.json" "$NODE_DIR/coredns.json"
  # CoreDNS's objects go in now: its pod is scheduled as soon as the node is Ready.
  api_apply_list "$server" "$NODE_DIR/coredns.json"
  create_cgroup_root

  spawn containerd containerd --config "$NODE_DIR/containerd.toml"
  wait_for containerd 30 ctr_ version
  node_import_images

  spawn kubelet kubelet --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$NODE_DIR/kubelet.kubeconfig" \
    --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet/pki" \
    --hostname-override "$NODE_NAME" --node-ip "$BRIDGE_IP"
  # kube-router reads its node's address once, at start: the node must be registered.
  wait_for "node $NODE_NAME Ready" 90 node_ready "$server"
  spawn kube-proxy kube-proxy --config "$NODE_DIR/kube-proxy.yaml"
  # NetworkPolicy only: pod routing is the bridge's, services are kube-proxy's.
  spawn kube-router kube-router --kubeconfig "$NODE_DIR/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --enable-ipv4=true --enable-ipv6=false \
    --health-port 0 --metrics-port 0
  wait_for kube-proxy 60 curl -sf "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
  wait_for "kube-router's firewall" 60 iptables -S KUBE-ROUTER-FORWARD
  wait_for "CoreDNS Ready" 120 coredns_ready "$server"
}

# The kubelet only accepts a cgroup root that exists in every hierarchy.
create_cgroup_root() {
  local h
  while read -r h; do
    [[ -d "$h/$CGROUP_ROOT" ]] && continue
    mkdir "$h/$CGROUP_ROOT"
    # A new v1 cpuset starts with no CPUs and no memory nodes: nothing could join it.
    if [[ -f "$h/cpuset.cpus" && -f "$h/$CGROUP_ROOT/cpuset.cpus" ]]; then
      cat "$h/cpuset.cpus" >"$h/$CGROUP_ROOT/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h/$CGROUP_ROOT/cpuset.mems"
    fi
  done < <(cgroup_mounts)
}

cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts; }

# --- stop -------------------------------------------------------------------------

node_stop() {
  [[ -d "$NODE_DIR" ]] || return 0
  # The kubelet first, so that nothing restarts what is removed next.
  stop_process kubelet
  remove_pods
  stop_process kube-router
  stop_process kube-proxy
  local sockets
  sockets="$(cat "$NODE_DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/address 2>/dev/null || true)"
  kill_containers
  stop_process containerd
  kill_shims
  # Shims killed rather than shut down leave their sockets (containerd 1.6 keeps them in /run/containerd/s).
  local s
  for s in $sockets; do s="${s#unix://}"; [[ "$s" == /run/containerd/s/* ]] && rm -f "$s"; done
  kill_cgroup_processes
  unmount_state
  sweep_iptables
  sweep_ipsets
  sweep_nft
  remove_cgroups
  remove_links
  remove_host_files
  # Connections of pods and services would otherwise linger in conntrack until they time out.
  local sel
  for sel in "-s $POD_CIDR" "-d $POD_CIDR" "-r $POD_CIDR" "-q $POD_CIDR" "-d $SERVICE_CIDR"; do
    # shellcheck disable=SC2086
    conntrack -D $sel >/dev/null 2>&1 || true
  done
  restore_sysctls
  nft delete table inet "$GUARD_TABLE" 2>/dev/null || true
}

# Stops and removes every pod sandbox through the CRI: the CNI DEL releases the
# address, removes the veth and any portmap rules.
remove_pods() {
  running containerd || return 0
  crictl_ rmp --all --force >/dev/null 2>&1 || log "crictl rmp failed; killing containers directly"
}

# Whatever containers are left (containerd died, a sandbox would not stop).
kill_containers() {
  local ns id
  [[ -d "$RUNC_ROOT" ]] || return 0
  for ns in "$RUNC_ROOT"/*/; do
    [[ -d "$ns" ]] || continue
    for id in $(runc --root "$ns" list -q 2>/dev/null); do
      runc --root "$ns" kill --all "$id" KILL 2>/dev/null || true
      runc --root "$ns" delete --force "$id" 2>/dev/null || true
    done
  done
}

# The shims our containerd started (they outlive it by design); found by the
# containerd address on their command line.
kill_shims() {
  local p cmd pids=()
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" || continue
    [[ "$cmd" == *containerd-shim* && " $cmd " == *" -address $CONTAINERD_SOCK "* ]] && pids+=("${p#/proc/}")
  done
  ((${#pids[@]})) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  sleep 1
  kill -9 "${pids[@]}" 2>/dev/null || true
}

# Any process still in the node's cgroups is one of its pods'.
kill_cgroup_processes() {
  local h pids
  while read -r h; do
    [[ -d "$h/$CGROUP_ROOT" ]] || continue
    pids="$(find "$h/$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"
    # shellcheck disable=SC2086
    [[ -z "$pids" ]] || kill -9 $pids 2>/dev/null || true
  done < <(cgroup_mounts)
}

# Container root file systems, network namespaces, volumes: all mounted under
# $STATE. Deepest first; lazily when busy. The state folder is removed only once
# nothing is mounted under it (a bind mount would otherwise be deleted through).
unmount_state() {
  local mp mps=()
  for _ in 1 2 3 4 5; do
    mapfile -t mps < <(awk -v s="$STATE" '$5 == s || index($5, s "/") == 1 { print $5 }' /proc/self/mountinfo | sort -ru)
    ((${#mps[@]})) || return 0
    for mp in "${mps[@]}"; do
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done
  done
  die "still mounted under $STATE after unmounting: ${mps[*]}"
}

# Removes, through iptables-restore --noflush (which parses the rules' quoting
# itself), every chain of kube-proxy, the kubelet and kube-router (KUBE-*), the
# portmap chains (CNI-*) that appeared while the node ran, and the rules of
# other chains that jump to them.
sweep_iptables() {
  local v script
  for v in iptables ip6tables; do
    script="$("$v-save" 2>/dev/null | awk -v keepfile="$NODE_DIR/saved/cni-chains" '
      BEGIN { while ((getline l < keepfile) > 0) keep[l] = 1 }
      function ours(c) { return c ~ /^KUBE-/ || (c ~ /^CNI-/ && !(c in keep)) }
      /^\*/ { t = substr($0, 2); n[t] = 0; del[t] = ""; next }
      /^:/ { c = substr($1, 2); if (ours(c)) { n[t]++; chain[t, n[t]] = c }; next }
      /^-A / {
        nf = split($0, f, " ")
        if (ours(f[2])) next
        for (i = 3; i < nf; i++) if ((f[i] == "-j" || f[i] == "-g") && ours(f[i + 1])) { del[t] = del[t] "-D" substr($0, 3) "\n"; break }
        next
      }
      END {
        for (t in n) {
          if (n[t] == 0 && del[t] == "") continue
          printf "*%s\n%s", t, del[t]
          for (i = 1; i <= n[t]; i++) printf "-F %s\n", chain[t, i]
          for (i = 1; i <= n[t]; i++) printf "-X %s\n", chain[t, i]
          print "COMMIT"
        }
      }')"
    [[ -z "$script" ]] || "$v-restore" --noflush <<<"$script" || log "$v: removing the node's chains failed"
  done
}

# kube-router's sets (its cleanup mode needs IPVS, which this kernel lacks).
# A list:set holds others: destroy in passes until nothing more goes.
sweep_ipsets() {
  local name left
  for _ in 1 2 3; do
    left=0
    while read -r name; do
      [[ "$name" =~ ^(inet6:)?(KUBE-|kube-router) ]] || continue
      ipset destroy "$name" 2>/dev/null || left=1
    done < <(ipset list -n 2>/dev/null)
    ((left)) || return 0
  done
  log "some kube-router ipsets could not be destroyed: $(ipset list -n | tr '\n' ' ')"
}

# Tables iptables-nft created for the node's chains and left empty, and any
# table of kube-proxy's nftables mode. Tables that existed before stay.
sweep_nft() {
  local family name rules
  while read -r _ family name; do
    [[ "$name" == "$GUARD_TABLE" ]] && continue
    grep -qx "table $family $name" "$NODE_DIR/saved/nft-tables" 2>/dev/null && continue
    # Whatever is not the table's skeleton (its chains' headers) is a rule.
    rules="$(nft list table "$family" "$name" | grep -vE '^\s*(table |chain |type |policy |#|\}|$)' || true)"
    if [[ "$name" == kube-proxy || -z "$rules" ]]; then
      nft delete table "$family" "$name" 2>/dev/null || true
    fi
  done < <(nft list tables)
}

remove_cgroups() {
  local h
  while read -r h; do
    [[ -d "$h/$CGROUP_ROOT" ]] || continue
    # A memory cgroup may refuse removal for a moment after its last process exits.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      find "$h/$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$h/$CGROUP_ROOT" ]] || break
      sleep 0.5
    done
    if [[ -d "$h/$CGROUP_ROOT" ]]; then log "cgroup $h/$CGROUP_ROOT could not be removed"; fi
  done < <(cgroup_mounts)
}

# veths of pods whose sandbox was not torn down by the CNI, then the bridge.
remove_links() {
  local l
  for l in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    ip link delete "$l" 2>/dev/null || true
  done
  if [[ -e "$NODE_DIR/saved/bridge" ]]; then ip link delete "$BRIDGE" 2>/dev/null || true; fi
}

remove_host_files() {
  local f d
  # The kubelet links every container log into /var/log/containers.
  for f in /var/log/containers/*; do
    [[ -L "$f" && "$(readlink "$f")" == "$NODE_DIR/"* ]] && rm -f "$f"
  done
  # The kubelet's device-plugin socket and checkpoint.
  [[ -S /var/lib/kubelet/device-plugins/kubelet.sock ]] && rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  grep -qxF /var/lib/kubelet/device-plugins "$NODE_DIR/saved/host-dirs" 2>/dev/null ||
    rm -f /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
  # CNI results cached by containerd's libcni, and host-local's default folder.
  rm -rf "/var/lib/cni/networks/$CNI_NETWORK" /var/lib/cni/results/"$CNI_NETWORK"-*
  for d in "${HOST_DIRS[@]}"; do
    grep -qxF "$d" "$NODE_DIR/saved/host-dirs" 2>/dev/null && continue
    rmdir "$d" 2>/dev/null || true
  done
}

restore_sysctls() {
  local line
  [[ -s "$NODE_DIR/saved/sysctl" ]] || return 0
  while IFS= read -r line; do
    sysctl -q -w "$line" >/dev/null 2>&1 || log "could not restore $line"
  done <"$NODE_DIR/saved/sysctl"
}

node_status() {
  local name
  for name in "${NODE_PROCESSES[@]}"; do
    if running "$name"; then echo "$name: running (pid $(cat "$STATE/$name.pid"))"; else echo "$name: stopped"; fi
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then echo "bridge $BRIDGE: up"; else echo "bridge $BRIDGE: absent"; fi
  if nft list table inet "$GUARD_TABLE" >/dev/null 2>&1; then echo "firewall guard: installed"; else echo "firewall guard: absent"; fi
}
