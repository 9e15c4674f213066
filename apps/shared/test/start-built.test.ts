// Each app starts with `node apps/<name>/dist/main.js` given only environment
// variables, and a missing variable stops it with an error naming the variable.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_NAMES, type ServiceName } from "../../../infra/model.js";
import { buildApps, entryPoint, startBuiltApp, type StartedApp } from "./support/apps.js";
import { createTestDatabase, createTestVhost, SHARED_REDIS_URL, type TestDatabase, type TestVhost } from "./support/backends.js";

const run = promisify(execFile);
let database: TestDatabase;
let vhost: TestVhost;
const started: StartedApp[] = [];

beforeAll(async () => {
  await buildApps();
  [database, vhost] = await Promise.all([createTestDatabase(), createTestVhost()]);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(started.map((app) => app.process.stop()));
  await Promise.allSettled([database?.drop(), vhost?.remove()]);
});

function environments(): Record<ServiceName, Record<string, string>> {
  return {
    catalog: { DATABASE_URL: database.url },
    cart: { REDIS_URL: SHARED_REDIS_URL, REDIS_KEY_PREFIX: "start-built-test:" },
    orders: { DATABASE_URL: database.url, AMQP_URL: vhost.url, CATALOG_URL: "http://127.0.0.1:9" },
    "order-worker": { DATABASE_URL: database.url, AMQP_URL: vhost.url },
  };
}

describe.each(SERVICE_NAMES)("%s", (app) => {
  it("starts from its built output with env vars only and answers /healthz, /readyz and /metrics", async () => {
    const running = await startBuiltApp(app, environments()[app]);
    started.push(running);
    expect(await (await fetch(`${running.baseUrl}/healthz`)).json()).toEqual({ status: "ok" });
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toContain("process_resident_memory_bytes");
    await expect.poll(async () => (await fetch(`${running.baseUrl}/readyz`)).status, { timeout: 20_000, interval: 200 }).toBe(200);
  });

  it("names each missing required variable", async () => {
    const env = environments()[app];
    for (const missing of Object.keys(env).filter((k) => !k.startsWith("REDIS_KEY"))) {
      const partial = Object.fromEntries(Object.entries(env).filter(([k]) => k !== missing));
      const failure = await run(process.execPath, [entryPoint(app)], { env: { PATH: process.env.PATH, ...partial }, timeout: 20_000 }).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain(`environment variable ${missing} is required`);
    }
  });
});

it("rejects an invalid value with the variable's name", async () => {
  const failure = await run(process.execPath, [entryPoint("cart")], { env: { PATH: process.env.PATH, REDIS_URL: SHARED_REDIS_URL, PORT: "http" }, timeout: 20_000 }).catch((err: { stderr: string }) => err);
  expect((failure as { stderr: string }).stderr).toContain("environment variable PORT must be a whole number");
});
