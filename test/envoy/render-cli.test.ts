// `npm run render -- --stack <name> --out <dir>` works offline for every stack and explains
// what is wrong when called badly.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { renderStackArtifacts } from "../../tools/render-stack.js";
import { PROJECT_DIR } from "./stacks.js";

const run = promisify(execFile);
const TSX = join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const SCRIPT = join(PROJECT_DIR, "scripts", "render.ts");

async function render(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [SCRIPT, ...args], { cwd: PROJECT_DIR, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe("npm run render", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it.each(["dev", "kind"])("writes every artifact of stack %s", async (stack) => {
    const out = await mkdtemp(join(tmpdir(), `render-${stack}-`));
    dirs.push(out);
    const result = await render(["--stack", stack, "--out", out]);
    expect(result.code, result.stderr).toBe(0);
    const expected = renderStackArtifacts(PROJECT_DIR, stack);
    expect(Object.keys(expected)).toContain("envoy/edge.yaml");
    for (const [path, content] of Object.entries(expected)) expect(await readFile(join(out, path), "utf8")).toBe(content);
  });

  it("names what is missing or unknown", async () => {
    const [noStack, noOut, unknown] = await Promise.all([
      render(["--out", "/tmp/unused"]),
      render(["--stack", "dev"]),
      render(["--stack", "nope", "--out", "/tmp/unused"]),
    ]);
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toContain("missing --stack <name>");
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("missing --out <dir>");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown stack "nope": no Pulumi\.nope\.yaml .*\(stacks: dev, kind\)/);
  });
});
