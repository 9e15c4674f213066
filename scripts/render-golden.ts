// npm run golden:update: re-renders every stack's Prometheus and Grafana files into
// test/golden/<stack>/, the reviewed copies the golden test compares fresh renders
// against (the dashboards are committed once, in dashboards/generated/: npm run
// dashboards:update; the Envoy configs per feature: npm run golden:cases).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isStackGolden } from "../test/golden-files.js";
import { renderStackArtifacts, stackNames } from "../tools/render-stack.js";

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const GOLDEN_DIR = join(PROJECT_DIR, "test", "golden");

for (const stack of stackNames(PROJECT_DIR)) {
  const artifacts = Object.fromEntries(Object.entries(renderStackArtifacts(PROJECT_DIR, stack)).filter(([path]) => isStackGolden(path)));
  // Start clean so artifacts that are no longer generated disappear from the goldens too.
  rmSync(join(GOLDEN_DIR, stack), { recursive: true, force: true });
  for (const [path, content] of Object.entries(artifacts)) {
    const file = join(GOLDEN_DIR, stack, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  console.log(`test/golden/${stack}: ${Object.keys(artifacts).length} files`);
}
