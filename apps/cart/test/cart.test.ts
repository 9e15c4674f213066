// Cart against the real Redis: every route over inject and over a socket, TTL
// refresh, atomic concurrent updates, bad input on every route, and a
// property-based test of the request schemas.
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceApp } from "@mesh/service-kit";
import { deleteRedisKeys, SHARED_REDIS_URL, uniqueName } from "../../shared/test/support/backends.js";
import { testBaseConfig } from "../../shared/test/support/apps.js";
import { isClientErrorJson, listenOnLoopback, viaInject, viaSocket, type Call } from "../../shared/test/support/http.js";
import { waitFor } from "../../../test/support/net.js";
import { buildCartApp } from "../src/app.js";
import { MAX_CART_ITEMS } from "../src/schemas.js";

const keyPrefix = `${uniqueName("test")}:cart:`;
const TTL = 3600;
const P1 = "11111111-1111-4111-8111-111111111111";
const P2 = "22222222-2222-4222-8222-222222222222";
let app: ServiceApp;
let baseUrl: string;
let redis: Redis;

beforeAll(async () => {
  app = await buildCartApp({ ...testBaseConfig("cart"), redisUrl: SHARED_REDIS_URL, keyPrefix, cartTtlSeconds: TTL });
  baseUrl = await listenOnLoopback(app);
  redis = new Redis(SHARED_REDIS_URL);
  // Commands fail fast (no offline queue) until the client has connected.
  await waitFor("cart ready", async () => (await app.inject("/readyz")).statusCode === 200, 10_000);
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await deleteRedisKeys(keyPrefix);
});

const transports: Array<[string, () => Call]> = [
  ["inject", () => viaInject(app)],
  ["socket", () => viaSocket(baseUrl)],
];

describe.each(transports)("cart routes via %s", (transport, makeCall) => {
  it("adds, changes, removes items and deletes the cart", async () => {
    const call = makeCall();
    const cartId = `c-${transport}`;
    expect(await call("GET", `/carts/${cartId}`)).toMatchObject({ status: 200, body: { cartId, items: [] } });
    expect((await call("PUT", `/carts/${cartId}/items/${P2}`, { quantity: 2 })).body).toEqual({ cartId, items: [{ productId: P2, quantity: 2 }] });
    const both = await call("PUT", `/carts/${cartId}/items/${P1}`, { quantity: 5 });
    expect(both.body).toEqual({ cartId, items: [{ productId: P1, quantity: 5 }, { productId: P2, quantity: 2 }] });
    expect(await redis.ttl(`${keyPrefix}${cartId}`)).toBeGreaterThan(TTL - 60);
    expect((await call("PUT", `/carts/${cartId}/items/${P1}`, { quantity: 0 })).body).toEqual({ cartId, items: [{ productId: P2, quantity: 2 }] });
    expect((await call("GET", `/carts/${cartId}`)).body).toEqual({ cartId, items: [{ productId: P2, quantity: 2 }] });
    expect((await call("DELETE", `/carts/${cartId}`)).status).toBe(204);
    expect((await call("GET", `/carts/${cartId}`)).body).toEqual({ cartId, items: [] });
  });

  it("serves health, readiness and metrics", async () => {
    const call = makeCall();
    expect((await call("GET", "/healthz")).status).toBe(200);
    expect((await call("GET", "/readyz")).body).toMatchObject({ status: "ready", checks: { redis: "ok" } });
    const text = String((await call("GET", "/metrics")).body);
    expect(text).toMatch(/redis_command_duration_seconds_count\{command="cart.set_item"\} \d+/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="PUT",route="\/carts\/:cartId\/items\/:productId",status_code="200"\}/);
  });
});

it("refreshes the TTL on every write", async () => {
  const call = viaInject(app);
  const key = `${keyPrefix}ttl`;
  await call("PUT", `/carts/ttl/items/${P1}`, { quantity: 1 });
  await redis.expire(key, 5);
  await call("PUT", `/carts/ttl/items/${P2}`, { quantity: 1 });
  expect(await redis.ttl(key)).toBeGreaterThan(TTL - 60);
});

it("applies concurrent updates to one cart atomically", async () => {
  const call = viaSocket(baseUrl);
  const ids = Array.from({ length: 40 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
  const answers = await Promise.all(ids.map((id, i) => call("PUT", `/carts/busy/items/${id}`, { quantity: i + 1 })));
  expect(answers.every((a) => a.status === 200)).toBe(true);
  const cart = (await call("GET", "/carts/busy")).body as { items: Array<{ productId: string; quantity: number }> };
  expect(cart.items).toHaveLength(ids.length);
  for (const item of cart.items) expect(item.quantity).toBe(ids.indexOf(item.productId) + 1);
});

describe("bad input gets a 4xx JSON error, never a 5xx", () => {
  const cases: Array<[string, string, string, unknown?]> = [
    ["get: cart id too long", "GET", `/carts/${"a".repeat(65)}`],
    ["get: cart id with bad characters", "GET", "/carts/a%20b"],
    ["delete: bad cart id", "DELETE", "/carts/a.b"],
    ["put: bad product id", "PUT", "/carts/c1/items/42", { quantity: 1 }],
    ["put: bad cart id", "PUT", `/carts/%2F/items/${P1}`, { quantity: 1 }],
    ["put: missing quantity", "PUT", `/carts/c1/items/${P1}`, {}],
    ["put: quantity as string", "PUT", `/carts/c1/items/${P1}`, { quantity: "3" }],
    ["put: negative quantity", "PUT", `/carts/c1/items/${P1}`, { quantity: -1 }],
    ["put: fractional quantity", "PUT", `/carts/c1/items/${P1}`, { quantity: 1.5 }],
    ["put: huge quantity", "PUT", `/carts/c1/items/${P1}`, { quantity: 1e9 }],
    ["put: extra field", "PUT", `/carts/c1/items/${P1}`, { quantity: 1, price: 2 }],
    ["put: malformed JSON", "PUT", `/carts/c1/items/${P1}`, '{"quantity":'],
    ["put: oversize body", "PUT", `/carts/c1/items/${P1}`, { quantity: 1, pad: "x".repeat(100_000) }],
    ["put: no body", "PUT", `/carts/c1/items/${P1}`],
    ["wrong method", "POST", "/carts/c1", { quantity: 1 }],
  ];
  it.each(cases)("%s", async (_name, method, url, body) => {
    for (const call of [viaInject(app), viaSocket(baseUrl)]) {
      const answer = await call(method, url, body);
      expect(isClientErrorJson(answer), `${method} ${url} -> ${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
    }
  });
});

it("quantity bodies: valid ones are applied, all others are 4xx (property-based)", async () => {
  const call = viaInject(app);
  const valid = (v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 &&
    Number.isInteger((v as { quantity?: unknown }).quantity) && ((v as { quantity: number }).quantity) >= 0 && ((v as { quantity: number }).quantity) <= 1000;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.record({ quantity: fc.oneof(fc.integer({ min: -10, max: 2000 }), fc.double(), fc.string()) }), fc.jsonValue()), async (body) => {
      const answer = await call("PUT", `/carts/prop/items/${P1}`, body);
      if (valid(body)) expect(answer.status).toBe(200);
      else expect(isClientErrorJson(answer), `${JSON.stringify(body)} -> ${answer.status}`).toBe(true);
    }),
    { numRuns: 150 },
  );
});

it("cart and product ids in the path: valid ones are served, all others are 4xx (property-based)", async () => {
  const call = viaInject(app);
  const segment = fc.oneof(fc.uuid(), fc.string({ unit: "binary", maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/), fc.constantFrom(P1.toUpperCase(), `urn:uuid:${P1}`, "%00", ".."));
  await fc.assert(
    fc.asyncProperty(segment, segment, async (cartId, productId) => {
      const answer = await call("PUT", `/carts/${encodeURIComponent(cartId)}/items/${encodeURIComponent(productId)}`, { quantity: 1 });
      const valid = /^[A-Za-z0-9_-]{1,64}$/.test(cartId) && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(productId);
      if (valid) expect(answer.status, `${cartId} ${productId}`).toBe(200);
      else expect(isClientErrorJson(answer), `${JSON.stringify([cartId, productId])} -> ${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
    }),
    { numRuns: 200 },
  );
});

it(`holds at most ${MAX_CART_ITEMS} products: one more is a 409 and changes nothing; known ones still change`, async () => {
  const call = viaInject(app);
  const cart = `full-${Date.now()}`;
  const product = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const filled = await Promise.all(Array.from({ length: MAX_CART_ITEMS + 10 }, (_, i) => call("PUT", `/carts/${cart}/items/${product(i)}`, { quantity: 1 })));
  // Sent concurrently: exactly the cap got in, every other one was refused as a conflict.
  expect(filled.filter((a) => a.status === 200)).toHaveLength(MAX_CART_ITEMS);
  const refused = filled.filter((a) => a.status !== 200);
  expect(refused.map((a) => a.status)).toEqual(Array(10).fill(409));
  expect(refused.every(isClientErrorJson)).toBe(true);
  const held = ((await call("GET", `/carts/${cart}`)).body as { items: Array<{ productId: string }> }).items.map((i) => i.productId);
  expect(held).toHaveLength(MAX_CART_ITEMS);
  const inCart = held[0]!;
  const outside = Array.from({ length: MAX_CART_ITEMS + 10 }, (_, i) => product(i)).find((p) => !held.includes(p))!;
  expect((await call("PUT", `/carts/${cart}/items/${inCart}`, { quantity: 5 })).status).toBe(200);
  expect((await call("PUT", `/carts/${cart}/items/${outside}`, { quantity: 1 })).status).toBe(409);
  expect((await call("PUT", `/carts/${cart}/items/${inCart}`, { quantity: 0 })).status).toBe(200);
  expect((await call("PUT", `/carts/${cart}/items/${outside}`, { quantity: 1 })).status).toBe(200);
});
