// README.md's code blocks, checked: every shell block is either run here or marked
// as needing Docker, kind or the Pulumi CLI; the local runner command is started for
// real (`npm run mesh:local`), and every API call of the README runs against it, in
// order, and must get the status its `# NNN` comment states; the cheap commands run as
// written; the example stack file passes the program's own validation.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_NAMESPACE, parseStackSettings } from "../../infra/config.js";
import { ENDPOINTS_FILE } from "../../infra/local/mesh.js";
import { waitFor } from "../support/net.js";
import {
  CURL_WRAPPER,
  OTHER_BLOCKS,
  SHELL_LANGS,
  SHELL_MARKERS,
  codeBlocks,
  expectedStatuses,
  joinContinuations,
  recordedStatuses,
  type CodeBlock,
} from "./blocks.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = codeBlocks(README);
const shell = (marker: string) => blocks.filter((b) => SHELL_LANGS.has(b.lang) && b.marker === marker);
const where = (b: CodeBlock) => `README.md line ${b.line}`;

interface BashResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runBash(script: string, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): BashResult {
  const result = spawnSync("bash", ["-e", "-o", "pipefail", "-c", script], {
    cwd: options.cwd,
    env: options.env,
    encoding: "utf8",
    timeout: options.timeoutMs,
    maxBuffer: 32 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr + (result.error ? `\n${result.error.message}` : "") };
}

describe("README code blocks", () => {
  it("are all recognised: every shell block is run here or marked as needing Docker, kind or Pulumi", () => {
    const unknown = blocks
      .filter((b) => (SHELL_LANGS.has(b.lang) ? !(b.marker in SHELL_MARKERS) : !OTHER_BLOCKS.has(`${b.lang}${b.marker ? ` ${b.marker}` : ""}`)))
      .map((b) => `${where(b)}: \`\`\`${b.lang} ${b.marker}`);
    expect(unknown, "blocks with no recognised marker").toEqual([]);
    // The README keeps at least one block of each checked kind, so the checks below check something.
    for (const marker of ["", "local", "api", "ci"]) expect(shell(marker).length, `sh ${marker} blocks`).toBeGreaterThan(0);
  });

  it("state the test command that .ci/run runs", () => {
    const command = "bash scripts/setup.sh && source scripts/env.sh && npm test";
    for (const block of shell("ci")) expect(block.body.trim(), where(block)).toBe(command);
    const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd "));
    expect(ci.join(" && ")).toBe(command);
  });

  it("give every curl of the API blocks its expected status", () => {
    const unmarked = shell("api").flatMap((b) => expectedStatuses(joinContinuations(b.body)).unmarked.map((l) => `${where(b)}: ${l}`));
    expect(unmarked, "curl commands without a trailing `# NNN`").toEqual([]);
  });

  it("contain a stack file example the program accepts", () => {
    const stacks = blocks.filter((b) => b.lang === "yaml" && b.marker === "stack");
    expect(stacks.length).toBeGreaterThan(0);
    for (const block of stacks) {
      const config = (parse(block.body) as { config: Record<string, unknown> }).config;
      const raw = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(`${CONFIG_NAMESPACE}:`, ""), v]));
      expect(() => parseStackSettings(raw), where(block)).not.toThrow();
    }
  });

  it("run as written where they are plain `sh` blocks", () => {
    for (const block of shell("")) {
      const result = runBash(block.body, { cwd: ROOT, env: process.env, timeoutMs: 120_000 });
      expect(result.status, `${where(block)} failed:\n${block.body}\n${result.stdout}\n${result.stderr}`).toBe(0);
    }
  }, 240_000);
});

describe("README API examples against `npm run mesh:local`", () => {
  let workDir: string;
  let runner: ChildProcess | undefined;
  let runnerOutput = "";
  let runnerExit: Promise<number | null>;

  const stateDir = () => join(workDir, ".mesh");

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "mesh-readme-"));
    // The runner's Postgres and dnsmasq run as other users and must reach the state dir inside.
    chmodSync(workDir, 0o755);
    const [local] = shell("local");
    const command = local?.body.trim() ?? "";
    expect(command, "the README's local runner command").toMatch(/^npm run mesh:local\b/);
    const withStateDir = `${command}${command.includes(" -- ") ? "" : " --"} --state-dir ${stateDir()}`;
    // Own process group, so a failed start can still be cleaned up as a whole.
    runner = spawn("bash", ["-c", `exec ${withStateDir}`], { cwd: ROOT, env: process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk: Buffer) => {
      runnerOutput = (runnerOutput + chunk.toString()).slice(-64_000);
    };
    runner.stdout?.on("data", keep);
    runner.stderr?.on("data", keep);
    const child = runner;
    runnerExit = new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    // Ready when it says so; fail at once (with its output) if it exits instead.
    const exitedEarly = runnerExit.then((code) => {
      throw new Error(`npm run mesh:local exited (${code}) before it was ready:\n${runnerOutput}`);
    });
    const ready = waitFor("the local runner to be ready", async () =>
      // An exit ends the polling too; exitedEarly reports it.
      child.exitCode !== null || (runnerOutput.includes("[mesh] ready") && existsSync(join(stateDir(), ENDPOINTS_FILE))),
      240_000, 200);
    exitedEarly.catch(() => {});
    await Promise.race([ready.then(() => (child.exitCode === null ? undefined : exitedEarly)), exitedEarly]);
  }, 260_000);

  afterAll(async () => {
    if (runner && runner.exitCode === null && runner.signalCode === null) {
      // Fallback only: the last test stops the runner the way a user does.
      const group = runner.pid;
      if (group !== undefined) {
        const pid = (() => {
          try {
            return (JSON.parse(readFileSync(join(stateDir(), ENDPOINTS_FILE), "utf8")) as { pid: number }).pid;
          } catch {
            return undefined;
          }
        })();
        if (pid !== undefined) process.kill(pid, "SIGINT");
        const timer = setTimeout(() => process.kill(-group, "SIGKILL"), 30_000);
        await runnerExit;
        clearTimeout(timer);
      }
    }
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it("every API block runs in order, and each curl gets the status its comment states", () => {
    const prelude = join(workDir, "curl-wrapper.sh");
    writeFileSync(prelude, CURL_WRAPPER);
    const envOut = join(workDir, "env-after-block");
    // The README's examples use only the variables they set themselves, so start from a clean slate.
    let env: NodeJS.ProcessEnv = { ...process.env, BASH_ENV: prelude };
    for (const name of ["GATEWAY", "PROMETHEUS", "ZIPKIN", "EDGE_ADMIN", "CATALOG_ADMIN"]) delete env[name];
    for (const block of shell("api")) {
      const script = joinContinuations(block.body);
      const { expected } = expectedStatuses(script);
      // `set -a` exports what the block assigns; the trailer hands it to the next block.
      const result = runBash(`set -a\n${script}\nenv -0 > ${JSON.stringify(envOut)}\n`, { cwd: workDir, env, timeoutMs: 60_000 });
      const context = `${where(block)}:\n${block.body}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
      expect(result.status, context).toBe(0);
      // The script runs one line below the block's own numbering (the `set -a` line).
      const got = recordedStatuses(result.stderr).map(({ line, status }) => ({ line: line - 1, status }));
      for (const [line, status] of expected) {
        const calls = got.filter((g) => g.line === line);
        expect(calls.length, `curl on block line ${line} never ran\n${context}`).toBeGreaterThan(0);
        for (const call of calls) expect(call.status, `status of block line ${line}\n${context}`).toBe(status);
      }
      env = Object.fromEntries(
        readFileSync(envOut, "utf8")
          .split("\0")
          .filter(Boolean)
          .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
      );
    }
  }, 120_000);

  it("stops on SIGINT, as Ctrl-C does, with exit code 0 and its endpoints file removed", async () => {
    const { pid } = JSON.parse(readFileSync(join(stateDir(), ENDPOINTS_FILE), "utf8")) as { pid: number };
    process.kill(pid, "SIGINT");
    expect(await runnerExit, runnerOutput).toBe(0);
    expect(existsSync(join(stateDir(), ENDPOINTS_FILE))).toBe(false);
  }, 60_000);
});
