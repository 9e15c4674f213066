// The local runner's building blocks against the real programs: dnsmasq answers
// and follows record changes, the private Postgres and Redis start, stop and come
// back on their own addresses (Redis requiring its password, Postgres serving the
// apps' unprivileged role), the run's RabbitMQ vhost and user come and go, and
// the supervisor leaves no process behind.
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import amqplib from "amqplib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataStoreUrl } from "../app-environment.js";
import { POSTGRES_APP_USER, POSTGRES_DATABASE } from "../accounts.js";
import { findBinaries, type Binaries } from "./binaries.js";
import { ServiceDns } from "./dns.js";
import { DNS_PORT, LocalLayout, firstTaken, randomBlockPrefix } from "./layout.js";
import { PrivatePostgres } from "./postgres.js";
import { RabbitVhost, SHARED_RABBITMQ_HOST } from "./rabbitmq.js";
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

  it("runs a private Postgres that can be stopped and started again, where the apps' role is no superuser", async () => {
    const postgres = new PrivatePostgres(binaries.postgresBin, binaries.setpriv, dir, layout.dataStore("postgres"));
    await postgres.start(supervisor);
    const at = `${layout.dataStore("postgres")}:5432`;
    /** Runs `sql` logged in as the apps are, with `password`. */
    const asApp = async (sql: string, password = postgres.appPassword) => {
      const client = new pg.Client({ connectionString: dataStoreUrl("postgres", at, password) });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };
    expect(postgres.appPassword).toMatch(/^[0-9a-f]{36}$/);
    expect(
      await asApp(`SELECT current_user AS role, current_database() AS database, rolsuper, rolcreaterole, rolcreatedb,
                          pg_get_userbyid(datdba) AS database_owner, pg_get_userbyid(nspowner) AS schema_owner
                   FROM pg_roles, pg_database, pg_namespace
                   WHERE rolname = current_user AND datname = current_database() AND nspname = 'public'`),
    ).toEqual([
      { role: POSTGRES_APP_USER, database: POSTGRES_DATABASE, rolsuper: false, rolcreaterole: false, rolcreatedb: false, database_owner: POSTGRES_APP_USER, schema_owner: POSTGRES_APP_USER },
    ]);
    // A migration may create tables; one that needs the superuser fails here as on a real deploy.
    await asApp("CREATE TABLE migration_probe (id int)");
    await expect(asApp("ALTER SYSTEM SET work_mem = '8MB'")).rejects.toThrow(/superuser|permission denied/);
    await expect(asApp("SELECT 1", "wrong")).rejects.toThrow(/password authentication failed/);
    await postgres.stop();
    expect(await tcpAccepts(layout.dataStore("postgres"), 5432)).toBe(false);
    await postgres.restart(supervisor);
    expect(await tcpAccepts(layout.dataStore("postgres"), 5432)).toBe(true);
    expect(await asApp("SELECT current_user AS role")).toEqual([{ role: POSTGRES_APP_USER }]);
  });

  it("gives a run a RabbitMQ vhost and a user allowed on it only, and deletes both", async () => {
    const { rabbitmqctl } = binaries;
    const names = async (what: "vhosts" | "users") => (await run(rabbitmqctl, ["-q", `list_${what}`, "--no-table-headers"])).stdout.split("\n").map((l) => l.split("\t")[0]?.trim());
    const broker = new RabbitVhost(rabbitmqctl, `mesh-components-${layout.prefix.replace(/\./g, "-")}-${process.pid}`);
    const at = `${SHARED_RABBITMQ_HOST}:5672`;
    const url = dataStoreUrl("rabbitmq", at, broker.credentials.password, broker.credentials);
    await broker.create();
    try {
      expect(broker.credentials.user).not.toBe("guest");
      expect(broker.credentials.password).toMatch(/^[0-9a-f]{36}$/);
      const connection = await amqplib.connect(url);
      const channel = await connection.createChannel();
      await channel.assertQueue("probe", { exclusive: true });
      await connection.close();
      // Not on the broker's default vhost (the broker closes the connection it was opening), nor with another password.
      await expect(amqplib.connect(dataStoreUrl("rabbitmq", at, broker.credentials.password, { ...broker.credentials, vhost: "/" }))).rejects.toThrow(/Expected ConnectionOpenOk; got <ConnectionClose/);
      await expect(amqplib.connect(dataStoreUrl("rabbitmq", at, "wrong", broker.credentials))).rejects.toThrow(/ACCESS_REFUSED/);
      expect(await names("users")).toContain(broker.credentials.user);
    } finally {
      await broker.remove();
    }
    expect(await names("users")).not.toContain(broker.credentials.user);
    expect(await names("vhosts")).not.toContain(broker.vhost);
    await expect(amqplib.connect(url)).rejects.toThrow(/ACCESS_REFUSED/);
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
