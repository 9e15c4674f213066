// Which suites run in which lane. The fast lane's suites start no process and
// reach no data store: the program under mocks, the generators and their
// goldens, the config rules, the dashboards' queries. They run in parallel in
// seconds while one edits (`npm run test:fast`); every other suite runs real
// Envoys, apps, data stores or the local mesh, one file at a time.
export const FAST_SUITES = [
  "infra/config.test.ts",
  "infra/workload-sizes.test.ts",
  "infra/environment.test.ts",
  "infra/plan/mesh-data.test.ts",
  "infra/docker/operator-network.test.ts",
  "infra/pki/pki.test.ts",
  "test/envoy/check.test.ts",
  "test/envoy/golden.test.ts",
  "test/envoy/cases.test.ts",
  "test/envoy/proto-json.test.ts",
  "test/observability/dashboards.test.ts",
  "test/observability/promql.test.ts",
  "test/pulumi/docker-target.test.ts",
  "test/pulumi/kubernetes-target.test.ts",
  "test/pulumi/program.test.ts",
  "test/pulumi/resource-graph.test.ts",
  "test/pulumi/toolchain-versions.test.ts",
  "test/pulumi/zipkin-storage.test.ts",
  "test/layout/import-rules.test.ts",
  "tools/bench/bench-helpers.test.ts",
  "tools/rollout/stack-target.test.ts",
  "tools/diagrams.test.ts",
  "apps/shared/test/metrics-switch.test.ts",
  "apps/shared/test/backend-imports.test.ts",
  "test/support/no-processes.test.ts",
];
