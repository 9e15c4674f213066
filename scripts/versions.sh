# Versions of the local toolchain the setup script installs. The images the
# Pulumi targets deploy are pinned in infra/versions.ts; keep the two in step
# (same Envoy minor, same major of every data store where Debian allows).
NODE_VERSION=24.21.0
ENVOY_VERSION=1.40.0
ZIPKIN_VERSION=3.6.1
# API fuzzer (PyPI) run against the live mesh by test/api/fuzz.test.ts.
SCHEMATHESIS_VERSION=4.32.5

# The real deploy lane's engines, built from the Go module proxy by
# scripts/deploy-tools.sh into $MESH_CACHE (outside the clone, so a fresh clone
# reuses them). A matching tool already on PATH is used instead.
PULUMI_VERSION=3.274.1
# pulumi-kubernetes tags v4.25.0 are served only as this pseudo-version of provider/v4.
PULUMI_KUBERNETES_PROVIDER_VERSION=4.25.0
PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
PULUMI_KUBERNETES_SDK_GO_VERSION=4.24.0
KUBERNETES_VERSION=1.34.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
DOCKER_ENGINE_VERSION=28.5.2
# The real node of the deploy lane (scripts/node.sh): kubelet and kube-proxy come
# from the Kubernetes release above; containerd, runc and the CNI plugins are
# Debian's; the rest are built from the Go module proxy.
CRI_TOOLS_VERSION=1.37.0
COREDNS_VERSION=1.15.0
# The only v2 served; it runs inside the test cluster only (its firewall).
KUBE_ROUTER_VERSION=2.1.0
