import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "infra/**/*.test.ts", "envoy-templates/**/*.test.ts", "dashboards/**/*.test.ts", "tools/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    // The real deploy lane has its own config (vitest.deploy.config.ts): npm run test:deploy.
    exclude: ["test/deploy/**", "**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites share the machine's data stores and ports; run files one at a time.
    fileParallelism: false,
  },
});
