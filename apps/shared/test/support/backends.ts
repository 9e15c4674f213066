// Per-run isolation on the machine's shared data stores (scripts/setup.sh starts
// them): a database of its own, a RabbitMQ vhost of its own, a Redis key prefix
// of its own, each removed afterwards.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { Redis } from "ioredis";

const run = promisify(execFile);
const SETUP_HINT = 'run "bash scripts/setup.sh" (it installs and starts Postgres, Redis and RabbitMQ)';

export const SHARED_POSTGRES_URL = "postgres://mesh:mesh@127.0.0.1:5432";
export const SHARED_REDIS_URL = "redis://127.0.0.1:6379";
export const SHARED_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates a fresh database on `serverUrl` (the shared Postgres by default). */
export async function createTestDatabase(serverUrl = SHARED_POSTGRES_URL): Promise<TestDatabase> {
  const name = uniqueName("mesh_test");
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(`cannot create a test database on ${serverUrl}: ${(err as Error).message}; ${SETUP_HINT}`, { cause: err });
  } finally {
    await admin.end().catch(() => {});
  }
  return {
    url: `${serverUrl}/${name}`,
    name,
    async drop() {
      await withSql(`${serverUrl}/postgres`, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Runs `fn` on a fresh connection to `url`, closed afterwards (so it need not survive a restart of the server). */
export async function withSql<T>(url: string, fn: (sql: pg.Client) => Promise<T>): Promise<T> {
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Runs rabbitmqctl against the machine's node (or `node`, with `env`). */
export async function rabbitmqctl(args: string[], options: { node?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const nodeArgs = options.node ? ["-n", options.node] : [];
  try {
    const { stdout } = await run("rabbitmqctl", [...nodeArgs, "-q", ...args], { env: options.env ?? process.env, timeout: 30_000 });
    return stdout;
  } catch (err) {
    throw new Error(`rabbitmqctl ${args.join(" ")} failed: ${(err as Error).message}; ${SETUP_HINT}`, { cause: err });
  }
}

export interface TestVhost {
  readonly url: string;
  readonly vhost: string;
  remove(): Promise<void>;
}

export async function createTestVhost(): Promise<TestVhost> {
  const vhost = uniqueName("mesh_test");
  await rabbitmqctl(["add_vhost", vhost]);
  await rabbitmqctl(["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]);
  return {
    url: `${SHARED_AMQP_URL}/${vhost}`,
    vhost,
    remove: async () => void (await rabbitmqctl(["delete_vhost", vhost])),
  };
}

/** Deletes every key under `prefix` on the shared Redis. */
export async function deleteRedisKeys(prefix: string, url = SHARED_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
