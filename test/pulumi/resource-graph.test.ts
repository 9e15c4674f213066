// The offline resource graph (`npm run render` → resources.json) for the project's stack files.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { declaredResources, SECRET_MASK, writeResourceGraph } from "../../tools/resource-graph.js";
import { readStackFile } from "../../infra/stack-config.js";
import { MOCK_SECRET_PREFIX } from "./support.js";

const out = mkdtempSync(join(tmpdir(), "mesh-resource-graph-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.each([
  ["dev", "mesh:docker:Mesh"],
  ["kind", "mesh:kubernetes:Mesh"],
])("resources.json of stack %s", (stack, rootType) => {
  it("lists every declared resource deterministically, parents first named, secrets masked", async () => {
    const settings = readStackFile(process.cwd(), stack);
    const first = await declaredResources(stack, settings);
    const second = await declaredResources(stack, settings);
    expect(second).toEqual(first);

    expect(first.filter((r) => r.parent === null).map((r) => r.type)).toEqual([rootType]);
    const names = new Set(first.map((r) => r.name));
    expect(names.size).toBe(first.length);
    for (const r of first) {
      if (r.parent !== null) expect(names.has(r.parent), `${r.name}'s parent ${r.parent}`).toBe(true);
      for (const dep of r.dependsOn) expect(names.has(dep), `${r.name} depends on ${dep}`).toBe(true);
    }
    const keys = first.map((r) => [r.type, r.name] as const);
    const byTypeThenName = (a: readonly [string, string], b: readonly [string, string]) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1);
    expect(keys).toEqual([...keys].sort(byTypeThenName));

    const text = JSON.stringify(first);
    expect(text).toContain(JSON.stringify(SECRET_MASK));
    expect(text).not.toContain(MOCK_SECRET_PREFIX);
  });

  it("is written by writeResourceGraph as JSON", async () => {
    const dir = join(out, stack);
    const count = await writeResourceGraph(process.cwd(), stack, dir);
    const written = JSON.parse(readFileSync(join(dir, "resources.json"), "utf8")) as unknown[];
    expect(written).toHaveLength(count);
    expect(count).toBeGreaterThan(50);
  });
});
