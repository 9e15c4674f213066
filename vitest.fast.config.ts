import { defineConfig } from "vitest/config";
import { FAST_SUITES } from "./test/lanes.js";

// The fast lane: suites that start no process (test/support/no-processes.ts
// makes sure of it), in parallel.
export default defineConfig({
  test: {
    include: FAST_SUITES,
    setupFiles: ["test/support/no-processes.ts"],
    testTimeout: 30_000,
  },
});
