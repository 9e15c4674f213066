import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "infra/**/*.test.ts", "envoy-templates/**/*.test.ts", "dashboards/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites share the machine's data stores and ports; run files one at a time.
    fileParallelism: false,
  },
});
