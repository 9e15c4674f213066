// Faults: Postgres and Redis restarted (private instances) while the built
// catalog and cart processes run. During the outage the API answers 503 JSON and
// /readyz fails; afterwards everything works again; the process never exits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/net.js";
import { buildApps, startBuiltApp, type StartedApp } from "./support/apps.js";
import { createTestDatabase } from "./support/backends.js";
import { PrivatePostgres, PrivateRedis } from "./support/private-stores.js";

async function answer(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { ...init, headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  await buildApps();
}, 240_000);

describe("catalog while its Postgres restarts", () => {
  let postgres: PrivatePostgres;
  let catalog: StartedApp;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    const database = await createTestDatabase(postgres.url);
    catalog = await startBuiltApp("catalog", { DATABASE_URL: database.url });
  }, 120_000);

  afterAll(async () => {
    await catalog?.process.stop();
    await postgres?.destroy();
  });

  it("answers 503 during the outage and recovers fully", async () => {
    const created = await answer(`${catalog.baseUrl}/products`, { method: "POST", body: JSON.stringify({ sku: "fault-1", name: "f", priceCents: 1 }) });
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string };

    await postgres.stop();
    const during = await answer(`${catalog.baseUrl}/products/${id}`);
    expect(during).toEqual({ status: 503, body: { error: "service_unavailable", message: "postgres is unavailable" } });
    expect((await answer(`${catalog.baseUrl}/products`, { method: "POST", body: JSON.stringify({ sku: "fault-2", name: "f", priceCents: 1 }) })).status).toBe(503);
    expect((await answer(`${catalog.baseUrl}/readyz`)).status).toBe(503);
    expect((await answer(`${catalog.baseUrl}/healthz`)).status).toBe(200);

    await postgres.resume();
    await expect.poll(async () => (await answer(`${catalog.baseUrl}/products/${id}`)).status, { timeout: 20_000, interval: 200 }).toBe(200);
    expect((await answer(`${catalog.baseUrl}/products`, { method: "POST", body: JSON.stringify({ sku: "fault-2", name: "f", priceCents: 1 }) })).status).toBe(201);
    expect((await answer(`${catalog.baseUrl}/readyz`)).status).toBe(200);
    expect(catalog.process.child.exitCode).toBeNull();
  }, 90_000);
});

describe("cart while its Redis restarts", () => {
  let redis: PrivateRedis;
  let cart: StartedApp;
  const item = "/carts/fault/items/11111111-1111-4111-8111-111111111111";

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    cart = await startBuiltApp("cart", { REDIS_URL: redis.url });
    await waitFor("cart ready", async () => (await answer(`${cart.baseUrl}/readyz`)).status === 200, 15_000);
  }, 60_000);

  afterAll(async () => {
    await cart?.process.stop();
    await redis?.destroy();
  });

  it("answers 503 during the outage and recovers fully", async () => {
    expect((await answer(`${cart.baseUrl}${item}`, { method: "PUT", body: JSON.stringify({ quantity: 2 }) })).status).toBe(200);

    await redis.stop();
    expect(await answer(`${cart.baseUrl}/carts/fault`)).toEqual({ status: 503, body: { error: "service_unavailable", message: "redis is unavailable" } });
    expect((await answer(`${cart.baseUrl}${item}`, { method: "PUT", body: JSON.stringify({ quantity: 3 }) })).status).toBe(503);
    expect((await answer(`${cart.baseUrl}/readyz`)).status).toBe(503);

    await redis.resume();
    await expect.poll(async () => (await answer(`${cart.baseUrl}${item}`, { method: "PUT", body: JSON.stringify({ quantity: 3 }) })).status, { timeout: 20_000, interval: 200 }).toBe(200);
    // The private Redis keeps nothing across the restart (no persistence): the cart starts again from this write.
    expect((await answer(`${cart.baseUrl}/carts/fault`)).body).toEqual({ cartId: "fault", items: [{ productId: "11111111-1111-4111-8111-111111111111", quantity: 3 }] });
    expect((await answer(`${cart.baseUrl}/readyz`)).status).toBe(200);
    expect(cart.process.child.exitCode).toBeNull();
  }, 60_000);
});
