// The reviewed renders in test/golden/<stack>/ (each stack's Prometheus and Grafana files,
// and the dashboards' one committed copy in dashboards/generated/) must match what the
// generators produce now; after an intended change, `npm run golden:update`
// (`npm run dashboards:update`) refreshes them for review. The Envoy configs are pinned
// per feature (test/envoy/cases.test.ts).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { renderStackArtifacts, stackNames } from "../../tools/render-stack.js";
import { committedCopy, isStackGolden } from "../golden-files.js";
import { PROJECT_DIR } from "./stacks.js";

const GOLDEN_DIR = join(PROJECT_DIR, "test", "golden");
const STALE = 'golden files are stale: run "npm run golden:update" and review the diff';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe("golden renders", () => {
  it("exist for both stacks", () => {
    expect(stackNames(PROJECT_DIR)).toEqual(expect.arrayContaining(["dev", "kind"]));
  });

  it.each(stackNames(PROJECT_DIR))("of stack %s match a fresh render", (stack) => {
    const artifacts = renderStackArtifacts(PROJECT_DIR, stack);
    expect(Object.keys(artifacts).filter((path) => path.startsWith("envoy/")).length).toBeGreaterThanOrEqual(5);
    expect(filesUnder(join(GOLDEN_DIR, stack)), STALE).toEqual(Object.keys(artifacts).filter(isStackGolden).sort());
    expect(Object.keys(artifacts).filter((path) => path.startsWith("grafana/dashboards/")).length, "the stack renders the dashboards").toBeGreaterThanOrEqual(5);
    for (const [path, content] of Object.entries(artifacts)) {
      const copy = committedCopy(GOLDEN_DIR, stack, path);
      if (copy !== undefined) expect(readFileSync(copy, "utf8"), `${stack}/${path}: ${STALE}`).toBe(content);
    }
  });

  it("render identically twice (deterministic output)", () => {
    for (const stack of stackNames(PROJECT_DIR)) expect(renderStackArtifacts(PROJECT_DIR, stack)).toEqual(renderStackArtifacts(PROJECT_DIR, stack));
  });
});
