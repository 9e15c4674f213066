// Catalog against the real Postgres: every route over inject and over a socket,
// bad input on every route, a property-based test of the request schemas, and
// migrations run concurrently by several "replicas".
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../shared/test/support/backends.js";
import { testBaseConfig } from "../../shared/test/support/apps.js";
import { isClientErrorJson, listenOnLoopback, viaInject, viaSocket, type Call } from "../../shared/test/support/http.js";
import { buildCatalogApp, migrateCatalog } from "../src/app.js";
import type { ServiceApp } from "@mesh/service-kit";

let database: TestDatabase;
let app: ServiceApp;
let baseUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = { ...testBaseConfig("catalog"), databaseUrl: database.url, dbPoolMax: 5 };
  app = await buildCatalogApp(config);
  // Three replicas starting at once: the advisory lock makes them take turns.
  const runs = await Promise.all([1, 2, 3].map(() => migrateCatalog(config, app.log)));
  expect(runs.flat()).toEqual(["1700000000000_products"]);
  baseUrl = await listenOnLoopback(app);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const transports: Array<[string, () => Call]> = [
  ["inject", () => viaInject(app)],
  ["socket", () => viaSocket(baseUrl)],
];

describe.each(transports)("catalog routes via %s", (transport, makeCall) => {
  it("creates, reads, lists, updates and deletes a product", async () => {
    const call = makeCall();
    const sku = `sku-${transport}`;
    const created = await call("POST", "/products", { sku, name: "Widget", priceCents: 1999 });
    expect(created.status).toBe(201);
    const product = created.body as { id: string; sku: string; name: string; priceCents: number };
    expect(product).toMatchObject({ sku, name: "Widget", priceCents: 1999 });

    expect((await call("GET", `/products/${product.id}`)).body).toEqual(product);

    const list = await call("GET", "/products?limit=100&offset=0");
    expect(list.status).toBe(200);
    expect((list.body as { items: unknown[] }).items).toContainEqual(product);

    const updated = await call("PUT", `/products/${product.id}`, { sku, name: "Widget v2", priceCents: 2499 });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ ...product, name: "Widget v2", priceCents: 2499 });

    expect((await call("POST", "/products", { sku, name: "Twin", priceCents: 1 })).status).toBe(409);

    expect((await call("DELETE", `/products/${product.id}`)).status).toBe(204);
    expect((await call("GET", `/products/${product.id}`)).status).toBe(404);
    expect((await call("PUT", `/products/${product.id}`, { sku, name: "Gone", priceCents: 1 })).status).toBe(404);
    expect((await call("DELETE", `/products/${product.id}`)).status).toBe(404);
  });

  it("serves health, readiness and metrics", async () => {
    const call = makeCall();
    expect((await call("GET", "/healthz")).body).toEqual({ status: "ok" });
    expect(await call("GET", "/readyz")).toMatchObject({ status: 200, body: { status: "ready", checks: { postgres: "ok" } } });
    const metrics = await call("GET", "/metrics");
    expect(metrics.contentType).toContain("text/plain");
    const text = String(metrics.body);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/products\/:id",status_code="\d{3}"\}/);
    expect(text).toContain('db_pool_connections{state="total"}');
    expect(text).toMatch(/db_query_duration_seconds_count\{operation="products.create"\} \d+/);
    expect(text).toContain("process_cpu_user_seconds_total");
  });
});

describe("pagination", () => {
  it("pages through products in creation order with the total", async () => {
    const call = viaInject(app);
    for (let i = 0; i < 5; i++) expect((await call("POST", "/products", { sku: `page-${i}`, name: `P${i}`, priceCents: i })).status).toBe(201);
    const all = (await call("GET", "/products?limit=100")).body as { items: Array<{ sku: string }>; total: number };
    const page = (await call("GET", "/products?limit=2&offset=1")).body as { items: Array<{ sku: string }>; total: number };
    expect(page.total).toBe(all.total);
    expect(page.items.map((p) => p.sku)).toEqual(all.items.slice(1, 3).map((p) => p.sku));
    const beyond = (await call("GET", `/products?limit=10&offset=${all.total + 10}`)).body as { items: unknown[]; total: number };
    expect(beyond).toEqual({ items: [], total: all.total });
  });
});

describe("bad input gets a 4xx JSON error, never a 5xx", () => {
  const id = "6f1b0c1e-2b0a-4c1e-9e55-0a4f1c2d3e4f";
  const good = { sku: "ok-1", name: "ok", priceCents: 1 };
  const cases: Array<[string, string, string, unknown?, Record<string, string>?]> = [
    ["list: limit not a number", "GET", "/products?limit=abc"],
    ["list: limit too large", "GET", "/products?limit=1000"],
    ["list: negative offset", "GET", "/products?offset=-1"],
    ["list: unknown parameter", "GET", "/products?sort=name"],
    ["get: bad id", "GET", "/products/not-a-uuid"],
    ["get: SQL in id", "GET", "/products/1'%20OR%20'1'='1"],
    ["create: missing fields", "POST", "/products", { sku: "x" }],
    ["create: wrong types", "POST", "/products", { sku: 1, name: true, priceCents: "12" }],
    ["create: negative price", "POST", "/products", { ...good, priceCents: -1 }],
    ["create: fractional price", "POST", "/products", { ...good, priceCents: 1.5 }],
    ["create: empty name", "POST", "/products", { ...good, name: "" }],
    ["create: bad sku", "POST", "/products", { ...good, sku: "has space" }],
    ["create: extra field", "POST", "/products", { ...good, id: id }],
    ["create: array body", "POST", "/products", [good]],
    ["create: malformed JSON", "POST", "/products", '{"sku": "a",'],
    ["create: oversize body", "POST", "/products", { ...good, name: "x".repeat(200_000) }],
    ["create: not JSON", "POST", "/products", "sku=a", { "content-type": "text/plain" }],
    ["create: NUL in text (Postgres refuses it)", "POST", "/products", { sku: "A-2", name: "a\u0000b", priceCents: 1 }],
    ["create: a control character in text", "POST", "/products", { ...good, name: "tab\there" }],
    ["create: a lone surrogate in text", "POST", "/products", '{"sku":"A-3","name":"half \\ud800 pair","priceCents":1}'],
    ["create: JSON in another charset", "POST", "/products", JSON.stringify(good), { "content-type": "application/json; charset=utf-16" }],
    ["create: compressed body", "POST", "/products", JSON.stringify(good), { "content-encoding": "gzip" }],
    ["create: price beyond the column", "POST", "/products", { ...good, priceCents: 2 ** 31 }],
    ["create: name too long", "POST", "/products", { ...good, name: "x".repeat(201) }],
    ["get: id with urn prefix", "GET", `/products/urn:uuid:${id}`],
    ["get: id in upper case", "GET", `/products/${id.toUpperCase()}`],
    ["get: id in braces", "GET", `/products/%7B${id}%7D`],
    ["update: bad id", "PUT", "/products/42", good],
    ["update: wrong types", "PUT", `/products/${id}`, { ...good, priceCents: null }],
    ["update: malformed JSON", "PUT", `/products/${id}`, "{"],
    ["delete: bad id", "DELETE", "/products/%00"],
    ["unknown route", "GET", "/nope"],
    ["wrong method", "PATCH", `/products/${id}`, good],
  ];
  it.each(cases)("%s", async (_name, method, url, body, headers) => {
    for (const call of [viaInject(app), viaSocket(baseUrl)]) {
      const answer = await call(method, url, body, headers);
      expect(isClientErrorJson(answer), `${method} ${url} -> ${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
    }
  });
});

/** Text JSON can carry: any code unit, control characters and lone surrogates included, and text that mixes them with ordinary letters. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 210 }),
  fc.string({ unit: fc.constantFrom("a", "é", "😀", " ", "\u0000", "\u001f", "\u007f", "\u0085", "\ud800", "\udfff"), maxLength: 20 }),
  fc.string({ maxLength: 210 }),
);

/** The rule the schema states: no control characters, no lone surrogates. */
function isPrintableText(text: string): boolean {
  return text.isWellFormed() && [...text].every((c) => {
    const code = c.codePointAt(0)!;
    return code > 0x9f || (code > 0x1f && code < 0x7f);
  });
}

describe("request schemas (property-based)", () => {
  const valid = (v: unknown): boolean => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    return (
      Object.keys(o).every((k) => ["sku", "name", "priceCents"].includes(k)) &&
      typeof o.sku === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.sku) && o.sku.length <= 64 &&
      typeof o.name === "string" && o.name.length >= 1 && o.name.length <= 200 && isPrintableText(o.name) &&
      Number.isInteger(o.priceCents) && (o.priceCents as number) >= 0 && (o.priceCents as number) <= 100_000_000
    );
  };
  const body = fc.oneof(
    fc.record({ sku: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/), name: anyText, priceCents: fc.oneof(fc.integer(), fc.double(), fc.constant(0)) }, { requiredKeys: [] }),
    fc.record({ sku: fc.anything(), name: fc.anything(), priceCents: fc.anything(), extra: fc.anything() }, { requiredKeys: [] }),
    fc.jsonValue(),
  );
  it("accepts exactly the valid bodies and never answers 5xx", async () => {
    const call = viaInject(app);
    await fc.assert(
      fc.asyncProperty(body, async (candidate) => {
        const answer = await call("POST", "/products", candidate);
        if (valid(candidate)) {
          expect([201, 409]).toContain(answer.status);
          // Stored exactly as sent: nothing the database would alter got through.
          if (answer.status === 201) expect((answer.body as { name: string }).name).toBe((candidate as { name: string }).name);
        } else expect(isClientErrorJson(answer), `${JSON.stringify(candidate)} -> ${answer.status}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
  it("list parameters: valid ones page, others are 400", async () => {
    const call = viaInject(app);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: -5, max: 200 }), fc.string({ maxLength: 6 })), fc.oneof(fc.integer({ min: -5, max: 50 }), fc.string({ maxLength: 6 })), async (limit, offset) => {
        const answer = await call("GET", `/products?limit=${encodeURIComponent(String(limit))}&offset=${encodeURIComponent(String(offset))}`);
        const ok = /^\d+$/.test(String(limit).trim()) && Number(limit) >= 1 && Number(limit) <= 100 && /^\d+$/.test(String(offset).trim()) && Number(offset) <= 1_000_000;
        if (ok) expect(answer.status).toBe(200);
        else expect(answer.status).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
  });
});
