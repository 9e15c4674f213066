// The local runner's life cycle: `npm run mesh:local` comes up, writes its
// endpoints, and on SIGTERM stops everything; an interrupted start-up leaves
// nothing behind either (no process, no RabbitMQ vhost or user, no endpoints.json).
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { findBinaries } from "../../infra/local/binaries.js";
import { firstTaken, LocalLayout, randomBlockPrefix } from "../../infra/local/layout.js";
import { ENDPOINTS_FILE, PROJECT_ROOT, startLocalMesh, type LocalMeshEndpoints } from "../../infra/local/mesh.js";
import { PORTS } from "../../infra/model.js";
import { waitFor } from "../support/net.js";
import { startProcess, type RunningProcess } from "../support/process.js";

const run = promisify(execFile);

/** Pids of processes whose command line or environment mentions `needle` (the run's address block, say). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // Apps carry their pod address only in their environment (HOST=...).
      const text = ["cmdline", "environ"].map((f) => readFileSync(`/proc/${entry}/${f}`, "latin1")).join("\0");
      if (text.includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** The shared broker's vhosts and users whose names mention the run's address block (the runner names both after it). */
async function brokerEntriesOf(block: string): Promise<string[]> {
  const names = async (what: "vhosts" | "users") => {
    const { stdout } = await run(findBinaries().rabbitmqctl, ["-q", `list_${what}`, "--no-table-headers"]);
    return stdout.split("\n").map((l) => `${what}: ${l.split("\t")[0]?.trim()}`);
  };
  const all = [...(await names("vhosts")), ...(await names("users"))];
  return all.filter((entry) => entry.includes(block.replace(/\./g, "-")));
}

/** A free address block (its edge listener ports are checked; the runner checks the rest). */
async function freeBlock(): Promise<string> {
  for (;;) {
    const layout = new LocalLayout(randomBlockPrefix());
    if (!(await firstTaken([PORTS.edgeHttp, PORTS.envoyAdmin].map((port) => ({ address: layout.edge, port }))))) return layout.prefix;
  }
}

describe("local runner life cycle", () => {
  const dirs: string[] = [];
  let cli: RunningProcess | undefined;

  afterAll(async () => {
    await cli?.stop(20_000);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("stops what it started when start-up is interrupted halfway", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mesh-e2e-abort-"));
    dirs.push(stateDir);
    const block = await freeBlock();
    const abort = new AbortController();
    const progress: string[] = [];
    await expect(
      startLocalMesh({
        stateDir,
        addressBlock: block,
        signal: abort.signal,
        onProgress: (message) => {
          progress.push(message);
          // Data stores and Zipkin are starting: interrupt before any pod comes up.
          if (message.startsWith("starting dnsmasq")) abort.abort();
        },
      }),
    ).rejects.toThrow(/interrupted/);
    expect(progress).toContain("stopping");
    expect(processesMentioning(`${block}.`)).toEqual([]);
    expect(processesMentioning(stateDir)).toEqual([]);
    expect(await brokerEntriesOf(block)).toEqual([]);
    expect(existsSync(join(stateDir, ENDPOINTS_FILE))).toBe(false);
  }, 120_000);

  it("npm run mesh:local serves, writes endpoints.json, and stops everything quietly on Ctrl-C", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mesh-e2e-cli-"));
    dirs.push(stateDir);
    const block = await freeBlock();
    const tsx = join(PROJECT_ROOT, "node_modules", "tsx", "dist", "cli.mjs");
    cli = startProcess(process.execPath, [tsx, "scripts/mesh-local.ts", "--state-dir", stateDir, "--address-block", block], { cwd: PROJECT_ROOT, ownGroup: true });
    const endpointsFile = join(stateDir, ENDPOINTS_FILE);
    await waitFor("mesh:local to be ready", async () => {
      if (cli?.child.exitCode !== null) throw new Error(`mesh:local exited:\n${cli?.output()}`);
      return cli.output().includes("Press Ctrl-C to stop.");
    }, 180_000, 250);
    const endpoints = JSON.parse(readFileSync(endpointsFile, "utf8")) as LocalMeshEndpoints;
    expect(endpoints.gateway).toBe(`http://${block}.1:${PORTS.edgeHttp}`);
    for (const url of [endpoints.gateway, endpoints.prometheus, endpoints.zipkin, ...Object.values(endpoints.admin)]) {
      expect(cli.output(), "printed URLs").toContain(url);
    }
    const ofBroker = await brokerEntriesOf(block);
    expect(ofBroker.filter((e) => e.startsWith("vhosts: "))).toHaveLength(1);
    expect(ofBroker.filter((e) => e.startsWith("users: "))).toHaveLength(1);
    const products = await fetch(`${endpoints.gateway}/api/products`);
    expect(products.status).toBe(200);
    await products.arrayBuffer();
    // 5 Envoys, 4 apps, dnsmasq, Postgres, Redis, Zipkin, Prometheus (and the runner itself).
    const ofRun = () => new Set([...processesMentioning(`${block}.`), ...processesMentioning(stateDir)]);
    expect(ofRun().size).toBeGreaterThanOrEqual(14);

    // A second runner on the same state dir refuses rather than wiping the running one's files.
    await expect(startLocalMesh({ stateDir, build: false })).rejects.toThrow(/already running/);
    expect((await fetch(`${endpoints.gateway}/api/products`)).status).toBe(200);

    // Ctrl-C in a terminal: SIGINT to the whole foreground process group (tsx, and the runner it started).
    process.kill(-cli.child.pid!, "SIGINT");
    const code = await new Promise<number | null>((resolve) => {
      if (cli?.child.exitCode !== null) resolve(cli?.child.exitCode ?? null);
      else cli.child.once("exit", (c) => resolve(c));
    });
    expect(code, cli.output()).toBe(0);
    expect(cli.output()).toContain("SIGINT: stopping");
    expect(cli.output()).not.toContain("unexpectedly");
    const lastLine = cli.output().trimEnd().split("\n").at(-1);
    expect(lastLine).toMatch(/^\[mesh\] stopped 14 processes \(.*\); nothing is left running$/);
    await waitFor("every process of the run to be gone", async () => ofRun().size === 0, 15_000);
    expect(existsSync(endpointsFile)).toBe(false);
    expect(await brokerEntriesOf(block)).toEqual([]);
  }, 240_000);

  it("names the setup script when a required binary is missing", () => {
    const path = process.env.PATH;
    try {
      process.env.PATH = "/nonexistent";
      expect(() => findBinaries({ ...process.env, ENVOY_BIN: "/nonexistent/envoy" })).toThrow(/envoy.*scripts\/setup\.sh/);
    } finally {
      process.env.PATH = path;
    }
  });
});
