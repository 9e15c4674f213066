// npm run golden:update: re-renders every stack's artifacts into test/golden/<stack>/,
// the reviewed copies the golden test compares fresh renders against.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderStackArtifacts, stackNames } from "../tools/render-stack.js";

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const GOLDEN_DIR = join(PROJECT_DIR, "test", "golden");

for (const stack of stackNames(PROJECT_DIR)) {
  const artifacts = renderStackArtifacts(PROJECT_DIR, stack);
  // Start clean so artifacts that are no longer generated disappear from the goldens too.
  rmSync(join(GOLDEN_DIR, stack), { recursive: true, force: true });
  for (const [path, content] of Object.entries(artifacts)) {
    const file = join(GOLDEN_DIR, stack, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  console.log(`test/golden/${stack}: ${Object.keys(artifacts).length} files`);
}
