// Prepared statements of the kit's Database against the real Postgres: a PREPARED
// query is parsed once per connection under its operation's name and run from
// then on; an operation cannot come with two statements; and a migration that
// changes a prepared statement's result type costs one failed query, not a
// connection that fails that statement for as long as it lives.
import Fastify from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HttpError, ServiceUnavailableError } from "../src/errors.js";
import { Registry } from "../src/metrics.js";
import { createDatabase, PREPARED, type Database } from "../src/postgres.js";
import { createTestDatabase, withSql, type TestDatabase } from "./support/backends.js";

let testDatabase: TestDatabase;
let database: Database;

const GET_SQL = "SELECT v FROM items WHERE id = $1";

/** The statements prepared on the connection that runs this query (the pool has one). */
async function preparedHere(): Promise<Array<{ name: string; statement: string; runs: number }>> {
  const { rows } = await database.query<{ name: string; statement: string; runs: number }>(
    "test.prepared",
    "SELECT name, statement, (generic_plans + custom_plans)::int AS runs FROM pg_prepared_statements ORDER BY name",
  );
  return rows;
}

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  await withSql(testDatabase.url, (sql) => sql.query("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL); INSERT INTO items VALUES (1, 10), (2, 20)"));
});

afterEach(async () => {
  await database?.close();
});

afterAll(async () => {
  await testDatabase?.drop();
});

function open(): Database {
  database = createDatabase({ url: testDatabase.url, registry: new Registry(), logger: Fastify({ logger: { level: "silent" } }).log, poolMax: 1 });
  return database;
}

describe("PREPARED queries", () => {
  it("are prepared once per connection under the operation's name, and only they are", async () => {
    const db = open();
    await db.query("test.unprepared", "SELECT v FROM items WHERE id = $1", [1]);
    for (const id of [1, 2, 1]) {
      const { rows } = await db.query<{ v: number }>("test.get", GET_SQL, [id], PREPARED);
      expect(rows).toEqual([{ v: id * 10 }]);
    }
    expect(await preparedHere()).toEqual([{ name: "test.get", statement: GET_SQL, runs: 3 }]);
  });

  it("run in a transaction too", async () => {
    const db = open();
    const v = await db.transaction("test.tx", async (query) => (await query<{ v: number }>("test.get", GET_SQL, [2], PREPARED)).rows[0]?.v);
    expect(v).toBe(20);
    expect(await preparedHere()).toEqual([{ name: "test.get", statement: GET_SQL, runs: 1 }]);
  });

  it("refuse an operation that comes with another statement, as a bug rather than an outage", async () => {
    const db = open();
    await db.query("test.get", GET_SQL, [1], PREPARED);
    const refused = await db.query("test.get", "SELECT v + 1 FROM items WHERE id = $1", [1], PREPARED).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toBeInstanceOf(HttpError);
    expect((refused as Error).message).toMatch(/"test\.get" came with two different statements/);
    // The same operation unprepared is no concern of the names.
    expect((await db.query<{ v: number }>("test.get", "SELECT v + 1 AS v FROM items WHERE id = $1", [1])).rows).toEqual([{ v: 11 }]);
  });

  it("refuse a name the server would truncate", async () => {
    const db = open();
    await expect(db.query(`test.${"x".repeat(60)}`, GET_SQL, [1], PREPARED)).rejects.toThrow(/at most 63 bytes/);
  });

  it("survive a migration that changes a column's type: one query fails, the next runs on a new connection", async () => {
    const db = open();
    await db.query("test.get_v", "SELECT v FROM items WHERE id = $1", [1], PREPARED);
    const [before] = (await db.query<{ pid: number }>("test.pid", "SELECT pg_backend_pid() AS pid")).rows;
    await withSql(testDatabase.url, (sql) => sql.query("ALTER TABLE items ALTER COLUMN v TYPE bigint"));

    const failed = await db.query("test.get_v", "SELECT v FROM items WHERE id = $1", [1], PREPARED).catch((err: unknown) => err);
    expect((failed as { code?: string }).code).toBe("0A000");
    expect(failed).not.toBeInstanceOf(ServiceUnavailableError);

    const { rows } = await db.query<{ v: string }>("test.get_v", "SELECT v FROM items WHERE id = $1", [1], PREPARED);
    expect(rows).toEqual([{ v: "10" }]);
    const [after] = (await db.query<{ pid: number }>("test.pid", "SELECT pg_backend_pid() AS pid")).rows;
    expect(after?.pid).not.toBe(before?.pid);
  });
});
