// Orders end to end under a burst (local runner): 500 orders sent at once
// through the edge are all accepted (202) and all fulfilled by the worker, each
// once; an Idempotency-Key retried through the edge gets the same order.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { waitFor } from "../support/net.js";
import { request } from "./support.js";

const BURST = 500;

describe("orders through the mesh", () => {
  let mesh: LocalMesh;
  let stateDir: string;
  let gateway: string;
  let productId: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "mesh-e2e-orders-"));
    mesh = await startLocalMesh({ stateDir, onProgress: (m) => console.log(`[mesh] ${m}`) });
    gateway = mesh.endpoints.gateway;
    const created = await request("POST", `${gateway}/api/products`, { sku: `BURST-${randomUUID().slice(0, 8)}`, name: "Kettle", priceCents: 3100 });
    expect(created.status).toBe(201);
    productId = (created.body as { id: string }).id;
  }, 240_000);

  afterAll(async () => {
    await mesh?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  async function statusOf(id: string): Promise<string> {
    return ((await request("GET", `${gateway}/api/orders/${id}`)).body as { status: string }).status;
  }

  it(`accepts ${BURST} concurrent orders (all 202) and fulfils every one`, async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: BURST }, () =>
        request("POST", `${gateway}/api/orders`, { items: [{ productId, quantity: 1 }] }).catch((err: unknown) => ({ status: 0, body: String(err), headers: new Headers() })),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const statuses: Record<number, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const refused = answers.filter((a) => a.status !== 202).slice(0, 3).map((a) => a.body);
    console.log(`orders-burst: ${BURST} sent at once, answered in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(statuses)}${refused.length ? `, e.g. ${JSON.stringify(refused)}` : ""}`);
    expect(statuses).toEqual({ 202: BURST });

    const ids = answers.map((a) => (a.body as { id: string }).id);
    expect(new Set(ids).size).toBe(BURST);
    const pending = new Set(ids);
    await waitFor(
      "every order of the burst fulfilled",
      async () => {
        // Poll in slices of 50, through the edge like a client would.
        for (const batch of chunks([...pending], 50)) {
          const states = await Promise.all(batch.map(async (id) => [id, await statusOf(id)] as const));
          for (const [id, status] of states) if (status === "fulfilled") pending.delete(id);
        }
        return pending.size === 0;
      },
      90_000,
      500,
    );
    expect(pending.size).toBe(0);
  }, 180_000);

  it("answers a retried Idempotency-Key with the same order through the edge, and refuses a malformed key with a 400", async () => {
    const key = randomUUID();
    const send = (headers: Record<string, string>) =>
      fetch(`${gateway}/api/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ items: [{ productId, quantity: 2 }] }),
        signal: AbortSignal.timeout(15_000),
      });
    const first = await send({ "idempotency-key": key });
    const again = await send({ "idempotency-key": key });
    expect([first.status, again.status]).toEqual([202, 202]);
    const [a, b] = [(await first.json()) as { id: string }, (await again.json()) as { id: string }];
    expect(b.id).toBe(a.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    const bad = await send({ "idempotency-key": "x".repeat(300) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: expect.any(String), message: expect.stringContaining("idempotency-key") });
  });
});

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
