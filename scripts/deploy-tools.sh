#!/usr/bin/env bash
# Builds the real deploy lane's engines from the Go module proxy, each into its
# own folder under $MESH_CACHE (outside the clone, reused when present):
#   pulumi        the Pulumi CLI
#   kubernetes    the Pulumi kubernetes resource provider
#   etcd          etcd, the control plane's store
#   control-plane kube-apiserver, kube-controller-manager, kube-scheduler
#   kwok          a simulated node on which pods turn Running/Ready
#   node          a real node: kubelet, kube-proxy, pause, crictl, CoreDNS, kube-router
#   dockerd       Docker Engine (dockerd + docker-proxy), for the opt-in Docker lane
# Usage: deploy-tools.sh [tool...]   (default: every tool but dockerd)
# A tool already on PATH at the pinned version is used as it is. Cold builds
# take long (see README, "Real deploys"): run this once, then it is instant.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/versions.sh"
source "$ROOT/scripts/env.sh"
log() { printf '[deploy-tools] %s\n' "$*"; }

# Builds run in a scratch module under a temp dir; only the binaries are kept.
scratch() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/mesh-build-$1.XXXX")"
  printf '%s' "$dir"
}

# Sets up the current folder as a module that requires what the main packages
# in "$@" need (a tools.go importing them), so that go mod tidy records every
# dependency at the versions those modules pin. $REQUIRE holds the go get arguments.
tools_module() {
  [[ -f go.mod ]] || go mod init "mesh.local/$(basename "$PWD")" >/dev/null 2>&1
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'; printf '\t_ "%s"\n' "$@"; printf ')\n'; } >tools.go
  [[ -z "${REQUIRE:-}" ]] || go get $REQUIRE
  go mod tidy
  mkdir -p out
}

# Moves what a build put in $work/out into place atomically (a half-built folder
# never counts), then drops the scratch folder.
install_into() {
  local dest="$1" work="$2"
  rm -rf "$dest.tmp" && mkdir -p "$(dirname "$dest")" && mv "$work/out" "$dest.tmp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  rm -rf "$work"
}

build_pulumi() {
  local dest="$MESH_CACHE/pulumi-$PULUMI_VERSION"
  [[ -x "$dest/pulumi" ]] && return 0
  if command -v pulumi >/dev/null && [[ "$(pulumi version 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then return 0; fi
  log "building the Pulumi CLI v$PULUMI_VERSION (cold: 15-25 min)"
  local work; work="$(scratch pulumi)"
  (
    cd "$work"
    # pkg/v3's own replace directives do not apply to a dependent module, so
    # the CLI is built from a module that requires it instead of go install.
    REQUIRE="github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" \
      tools_module github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -trimpath -o out/pulumi \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  install_into "$dest" "$work"
}

build_kubernetes_provider() {
  local dest="$MESH_CACHE/pulumi-resource-kubernetes-$PULUMI_KUBERNETES_PROVIDER_VERSION"
  [[ -x "$dest/pulumi-resource-kubernetes" ]] && return 0
  log "building the Pulumi kubernetes provider v$PULUMI_KUBERNETES_PROVIDER_VERSION (cold: ~25-30 min)"
  local work; work="$(scratch kubernetes)"
  local mod="github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  (
    cd "$work"
    GOFLAGS=-modcacherw go mod download -json "$mod" >download.json
    src="$(jq -r .Dir download.json)"
    cp -r "$src" provider && chmod -R u+w provider
    cd provider
    # The module points its Go SDK at the repository's ../sdk; take the
    # published SDK instead.
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
      -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$PULUMI_KUBERNETES_SDK_GO_VERSION"
    # The provider embeds its schema and Terraform mapping; the repository
    # generates these git-ignored files at build time.
    cmd=cmd/pulumi-resource-kubernetes
    jq -c --arg v "$PULUMI_KUBERNETES_PROVIDER_VERSION" '.version = $v' "$cmd/schema.json" >"$cmd/schema-embed.json"
    jq -c . "$cmd/terraform-mapping.json" >"$cmd/terraform-mapping-embed.json"
    go mod tidy
    mkdir -p ../out
    go build -trimpath -o ../out/pulumi-resource-kubernetes \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v$PULUMI_KUBERNETES_PROVIDER_VERSION" \
      "./$cmd"
  )
  install_into "$dest" "$work"
}

build_etcd() {
  local dest="$MESH_CACHE/etcd-$ETCD_VERSION"
  [[ -x "$dest/etcd" ]] && return 0
  log "building etcd v$ETCD_VERSION"
  local work; work="$(scratch etcd)"
  (
    cd "$work"
    REQUIRE="go.etcd.io/etcd/server/v3@v$ETCD_VERSION" tools_module go.etcd.io/etcd/server/v3
    go build -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3
  )
  install_into "$dest" "$work"
}

build_kwok() {
  local dest="$MESH_CACHE/kwok-$KWOK_VERSION"
  [[ -x "$dest/kwok" && -d "$dest/stages" ]] && return 0
  log "building kwok v$KWOK_VERSION"
  local work; work="$(scratch kwok)"
  mkdir -p "$work/out"
  GOBIN="$work/out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  # The node and pod lifecycle stages ship in the module; keep them beside the binary.
  local src; src="$(go list -m -f '{{.Dir}}' "sigs.k8s.io/kwok@v$KWOK_VERSION" 2>/dev/null ||
    GOFLAGS=-modcacherw go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | jq -r .Dir)"
  cp -r "$src/kustomize/stage" "$work/out/stages" && chmod -R u+w "$work/out/stages"
  find "$work/out/stages" -name '*.go' -delete
  install_into "$dest" "$work"
}

# Builds commands of k8s.io/kubernetes ($2...) into $1 from a scratch module.
# k8s.io/kubernetes's own go.mod replaces every staging module with ./staging,
# which its published zip lacks: each is pointed at the published module instead.
build_kubernetes_commands() {
  local dest="$1"; shift
  local work; work="$(scratch "kubernetes-$(basename "$dest")")"
  local staging_version="v0.${KUBERNETES_VERSION#1.}"
  (
    cd "$work"
    go mod init mesh.local/kubernetes >/dev/null 2>&1
    GOFLAGS=-modcacherw go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" >download.json
    local kmod; kmod="$(jq -r .GoMod download.json)"
    go mod edit -require "k8s.io/kubernetes@v$KUBERNETES_VERSION"
    grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$kmod" | awk '{print $1}' | while read -r m; do
      case "$m" in k8s.io/sample-cli-plugin | k8s.io/sample-controller) continue ;; esac
      go mod edit -replace "$m=$m@$staging_version"
    done
    local pkgs=(); for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    REQUIRE="" tools_module "${pkgs[@]}"
    for c in "$@"; do
      go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION#1.}" \
        -o "out/$c" "k8s.io/kubernetes/cmd/$c"
    done
  )
  install_into "$dest" "$work"
}

build_control_plane() {
  local dest="$MESH_CACHE/kubernetes-$KUBERNETES_VERSION"
  [[ -x "$dest/kube-apiserver" && -x "$dest/kube-controller-manager" && -x "$dest/kube-scheduler" ]] && return 0
  log "building kube-apiserver, kube-controller-manager, kube-scheduler v$KUBERNETES_VERSION (cold: ~20 min)"
  build_kubernetes_commands "$dest" kube-apiserver kube-controller-manager kube-scheduler
}

# The real node's own programs: kubelet and kube-proxy (same release as the
# control plane; the Go build cache makes this a few minutes once it is warm),
# the sandbox ("pause") program, crictl, CoreDNS and kube-router.
build_node() {
  local dest="$MESH_CACHE/kubernetes-node-$KUBERNETES_VERSION"
  if ! [[ -x "$dest/kubelet" && -x "$dest/kube-proxy" && -x "$dest/pause" ]]; then
    log "building kubelet, kube-proxy and pause v$KUBERNETES_VERSION"
    build_kubernetes_commands "$dest.build" kubelet kube-proxy
    # The sandbox container's program is one C file in the same module, linked statically.
    local src; src="$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | jq -r .Dir)"
    gcc -Os -static -DVERSION="v$KUBERNETES_VERSION" -o "$dest.build/pause" "$src/build/pause/linux/pause.c"
    rm -rf "$dest" && mv "$dest.build" "$dest"
  fi
  local tools="$MESH_CACHE/node-tools-$CRI_TOOLS_VERSION-$COREDNS_VERSION-$KUBE_ROUTER_VERSION"
  [[ -x "$tools/crictl" && -x "$tools/coredns" && -x "$tools/kube-router" ]] && return 0
  log "building crictl v$CRI_TOOLS_VERSION, CoreDNS v$COREDNS_VERSION, kube-router v$KUBE_ROUTER_VERSION"
  local work; work="$(scratch node-tools)"
  mkdir -p "$work/out"
  # Static binaries: CoreDNS's image then holds nothing but the binary.
  local m
  for m in "sigs.k8s.io/cri-tools/cmd/crictl@v$CRI_TOOLS_VERSION" "github.com/coredns/coredns@v$COREDNS_VERSION" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v$KUBE_ROUTER_VERSION"; do
    CGO_ENABLED=0 GOBIN="$work/out" go install -trimpath -ldflags "-s -w" "$m"
  done
  install_into "$tools" "$work"
}

build_dockerd() {
  local dest="$MESH_CACHE/docker-$DOCKER_ENGINE_VERSION"
  [[ -x "$dest/dockerd" && -x "$dest/docker-proxy" ]] && return 0
  log "building Docker Engine v$DOCKER_ENGINE_VERSION (dockerd, docker-proxy)"
  local work; work="$(scratch dockerd)"
  (
    cd "$work"
    GOFLAGS=-modcacherw go mod download -json "github.com/docker/docker@v$DOCKER_ENGINE_VERSION+incompatible" >download.json
    cp -r "$(jq -r .Dir download.json)" src && chmod -R u+w src
    cd src
    # The engine keeps its module file as vendor.mod; build it as a module.
    rm -rf vendor && cp vendor.mod go.mod && cp vendor.sum go.sum
    go mod tidy
    mkdir -p ../out
    for c in dockerd docker-proxy; do
      go build -trimpath -tags "exclude_graphdriver_btrfs exclude_graphdriver_devicemapper" \
        -ldflags "-s -w -X github.com/docker/docker/dockerversion.Version=$DOCKER_ENGINE_VERSION" \
        -o "../out/$c" "./cmd/$c"
    done
  )
  install_into "$dest" "$work"
}

tools=("$@")
((${#tools[@]})) || tools=(pulumi kubernetes etcd kwok control-plane node)
for t in "${tools[@]}"; do
  case "$t" in
    pulumi) build_pulumi ;;
    kubernetes) build_kubernetes_provider ;;
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    control-plane) build_control_plane ;;
    node) build_node ;;
    dockerd) build_dockerd ;;
    *) echo "deploy-tools: unknown tool '$t' (expected pulumi, kubernetes, etcd, kwok, control-plane, node or dockerd)" >&2; exit 2 ;;
  esac
done
