import { defineConfig } from "vitest/config";
import { FAST_SUITES } from "./test/lanes.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "infra/**/*.test.ts", "envoy-templates/**/*.test.ts", "dashboards/**/*.test.ts", "tools/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    // The real deploy lane and the fast lane have their own configs (vitest.deploy.config.ts,
    // vitest.fast.config.ts): npm run test:deploy, npm run test:fast.
    exclude: ["test/deploy/**", "**/node_modules/**", ...FAST_SUITES],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites share the machine's data stores and ports; run files one at a time.
    fileParallelism: false,
  },
});
