// The local runner's building blocks against the real programs: dnsmasq answers
// and follows record changes, the private Postgres and Redis start, stop and come
// back on their own addresses (Redis requiring its password), and the supervisor
// leaves no process behind.
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBinaries, type Binaries } from "./binaries.js";
import { ServiceDns } from "./dns.js";
import { DNS_PORT, LocalLayout, firstTaken, randomBlockPrefix } from "./layout.js";
import { PrivatePostgres } from "./postgres.js";
import { tcpAccepts } from "./readiness.js";
import { PrivateRedis } from "./redis.js";
import { Supervisor } from "./supervisor.js";

const run = promisify(execFile);

describe("local runner components", () => {
  let dir: string;
  let supervisor: Supervisor;
  let binaries: Binaries;
  let layout: LocalLayout;

  beforeAll(async () => {
    binaries = findBinaries();
    dir = mkdtempSync(join(tmpdir(), "mesh-components-"));
    mkdirSync(join(dir, "logs"));
    // dnsmasq ("nobody") and Postgres ("postgres") read their files under it.
    chmodSync(dir, 0o755);
    supervisor = new Supervisor(join(dir, "logs"));
    do layout = new LocalLayout(randomBlockPrefix());
    while (await firstTaken([{ address: layout.dns, port: DNS_PORT }, { address: layout.dataStore("postgres"), port: 5432 }, { address: layout.dataStore("redis"), port: 6379 }]));
  });

  afterAll(async () => {
    await supervisor?.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves one A record per replica and follows changes without a restart", async () => {
    const dns = new ServiceDns(binaries.dnsmasq, dir, layout.dns, DNS_PORT);
    await dns.start(supervisor);
    const pid = supervisor.get("dnsmasq").pid;
    await dns.setRecords("catalog", [layout.servicePod("catalog", 0), layout.servicePod("catalog", 1)]);
    expect(await dns.lookup("catalog")).toEqual([layout.servicePod("catalog", 0), layout.servicePod("catalog", 1)].sort());
    await dns.setRecords("catalog", [layout.servicePod("catalog", 1)]);
    expect(await dns.lookup("catalog")).toEqual([layout.servicePod("catalog", 1)]);
    expect(await dns.lookup("cart")).toEqual([]);
    expect(supervisor.get("dnsmasq").pid).toBe(pid);
  });

  it("runs a private Postgres that can be stopped and started again", async () => {
    const postgres = new PrivatePostgres(binaries.postgresBin, binaries.setpriv, dir, layout.dataStore("postgres"));
    await postgres.start(supervisor, ["mesh"]);
    expect(await tcpAccepts(layout.dataStore("postgres"), 5432)).toBe(true);
    await postgres.stop();
    expect(await tcpAccepts(layout.dataStore("postgres"), 5432)).toBe(false);
    await postgres.restart(supervisor);
    expect(await tcpAccepts(layout.dataStore("postgres"), 5432)).toBe(true);
  });

  it("runs a private Redis that requires its password and can be stopped and started again", async () => {
    const redis = new PrivateRedis(binaries.redisServer, dir, layout.dataStore("redis"));
    // redis-cli reads the password from REDISCLI_AUTH, as the containers' health checks do.
    const ping = async (password?: string) => {
      const env: NodeJS.ProcessEnv = { ...process.env, REDISCLI_AUTH: password };
      if (password === undefined) delete env.REDISCLI_AUTH;
      const { stdout } = await run("redis-cli", ["-h", layout.dataStore("redis"), "-p", "6379", "ping"], { env });
      return stdout.trim();
    };
    await redis.start(supervisor);
    expect(redis.password).toMatch(/^[0-9a-f]{36}$/);
    expect(await ping()).toMatch(/^NOAUTH/);
    expect(await ping("wrong")).toMatch(/^NOAUTH/);
    expect(await ping(redis.password)).toBe("PONG");
    // Never on its command line, where ps shows it: only in the environment.
    const { spec } = supervisor.get("redis");
    expect(JSON.stringify([spec.command, spec.args])).not.toContain(redis.password);
    expect(spec.env?.REDISCLI_AUTH).toBe(redis.password);
    await redis.stop();
    expect(await tcpAccepts(layout.dataStore("redis"), 6379)).toBe(false);
    await redis.start(supervisor);
    expect(await tcpAccepts(layout.dataStore("redis"), 6379)).toBe(true);
    expect(await ping(redis.password)).toBe("PONG");
  });

  it("reports a process that cannot run as an unexpected exit, with its log", async () => {
    const exits: string[] = [];
    const other = new Supervisor(join(dir, "logs"), (exit) => exits.push(exit.name));
    const broken = other.start({ name: "broken", command: "/nonexistent/program", args: [] });
    const exit = await broken.exited;
    expect(exit.code).not.toBe(0);
    expect(exits).toEqual(["broken"]);
    expect(broken.logTail()).toMatch(/nonexistent/);
    await other.stopAll();
  });

  it("stops every process it started and records none of those exits as crashes", async () => {
    const running = supervisor.list().filter((p) => p.running);
    expect(running.map((p) => p.spec.name).sort()).toEqual(["dnsmasq", "postgres", "redis"]);
    await supervisor.stopAll();
    expect(supervisor.list().filter((p) => p.running)).toEqual([]);
    expect(supervisor.unexpectedExits()).toEqual([]);
    for (const p of running) expect(() => process.kill(p.pid, 0)).toThrow();
  });
});
