# Versions of the local toolchain the setup script installs. The images the
# Pulumi targets deploy are pinned in infra/versions.ts; keep the two in step
# (same Envoy minor, same major of every data store where Debian allows).
NODE_VERSION=24.21.0
ENVOY_VERSION=1.40.0
ZIPKIN_VERSION=3.6.1
