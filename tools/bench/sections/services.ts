// Service efficiency: each service against a raw client doing the same work at
// the same concurrency (catalog vs pg, cart vs its own Lua script).
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { PROJECT_ROOT, type LocalMesh } from "../../../infra/local/mesh.js";
import { comparison, log, pidsOf, replicaOf, type Comparison } from "../common.js";
import { interleave } from "../interleave.js";
import { closedLoop, closedLoopHttp, type HttpLoadResult, type RunResult } from "../load.js";
import type { Options } from "../options.js";
import { renderTable, type Cell } from "../table.js";
/**
 * The cart's own set-item script and item cap, from the built cart the bench runs anyway. Loaded at
 * run time: the project's type check runs before the apps are built, so it cannot see their types.
 */
async function cartScripts(redis: Redis) {
  const dist = (file: string) => pathToFileURL(join(PROJECT_ROOT, "apps", "cart", "dist", file)).href;
  const { withCartScripts } = (await import(dist("carts.js"))) as {
    withCartScripts(redis: Redis): Redis & { cartSetItem(key: string, product: string, quantity: number, ttlSeconds: number, cap: number): Promise<string[] | null> };
  };
  const { MAX_CART_ITEMS } = (await import(dist("schemas.js"))) as { MAX_CART_ITEMS: number };
  return { redis: withCartScripts(redis), maxItems: MAX_CART_ITEMS };
}

/** One service against its raw clients, at `concurrency` operations in flight. */
export interface ServiceComparison extends Comparison {
  readonly concurrency: number;
}

export interface ServiceEfficiency {
  readonly catalogVsPg: ServiceComparison;
  readonly cartVsRedis: ServiceComparison;
}

export async function serviceEfficiency(mesh: LocalMesh, o: Options, productId: string): Promise<ServiceEfficiency> {
  const slice = (o.durationS * 1000) / o.rounds;
  const c = o.concurrency;
  const catalog = replicaOf(mesh, "catalog");
  const cart = replicaOf(mesh, "cart");
  let catalogVsPg: ServiceComparison;
  let cartVsRedis: ServiceComparison;

  // catalog GET by id vs the same SELECT from a pg Pool, straight to Postgres and through the catalog's sidecar TCP proxy.
  {
    log(`services: catalog GET vs raw pg, concurrency ${c}`);
    // The raw clients log in as the catalog app does.
    const direct = new pg.Pool({ connectionString: mesh.appDataStoreUrl("postgres"), max: c });
    const viaSidecar = new pg.Pool({ connectionString: mesh.appDataStoreUrl("postgres", catalog.pod), max: c });
    const select = "SELECT id, sku, name, price_cents FROM products WHERE id = $1";
    const check = async (pool: pg.Pool) => {
      const r = await pool.query(select, [productId]);
      if (r.rowCount !== 1) throw new Error("product not found");
    };
    try {
      await Promise.all([check(direct), check(viaSidecar)]);
      const rounds = await interleave<RunResult | HttpLoadResult>(
        [
          { name: "catalog app GET /products/:id", run: () => closedLoopHttp({ url: `${catalog.app}/products/${productId}`, connections: c, durationMs: slice }) },
          { name: "raw pg SELECT (direct)", run: () => closedLoop({ concurrency: c, durationMs: slice, op: () => check(direct) }) },
          { name: "raw pg SELECT (via catalog sidecar TCP proxy)", run: () => closedLoop({ concurrency: c, durationMs: slice, op: () => check(viaSidecar) }) },
        ],
        o.rounds,
        pidsOf(mesh, ["catalog-0", "catalog-sidecar-0", "postgres"]),
      );
      catalogVsPg = { concurrency: c, ...comparison(rounds, "catalog app GET /products/:id") };
    } finally {
      await Promise.all([direct.end(), viaSidecar.end()]);
    }
  }

  // cart item update vs the cart's own Lua script (cap check, HSET, EXPIRE, HGETALL), run by EVALSHA from ioredis.
  {
    log(`services: cart PUT vs its Lua script from a raw ioredis client, concurrency ${c}`);
    const redis = new Redis(mesh.appDataStoreUrl("redis"), { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on("error", () => {});
    const scripted = await cartScripts(redis);
    const cartId = `bench-${process.pid}`;
    const rawKey = `bench:raw-cart:${process.pid}`;
    try {
      await redis.connect();
      const rounds = await interleave<RunResult | HttpLoadResult>(
        [
          {
            name: "cart app PUT /carts/:id/items/:productId",
            run: () => closedLoopHttp({ url: `${cart.app}/carts/${cartId}/items/${productId}`, method: "PUT", body: { quantity: 2 }, connections: c, durationMs: slice }),
          },
          {
            name: "raw Redis: the cart's set-item script by EVALSHA",
            run: () =>
              closedLoop({
                concurrency: c,
                durationMs: slice,
                op: async () => {
                  if ((await scripted.redis.cartSetItem(rawKey, productId, 2, 3600, scripted.maxItems)) === null) throw new Error("the cart's cap refused the item");
                },
              }),
          },
        ],
        o.rounds,
        pidsOf(mesh, ["cart-0", "cart-sidecar-0", "redis"]),
      );
      cartVsRedis = { concurrency: c, ...comparison(rounds, "cart app PUT /carts/:id/items/:productId") };
      await redis.del(rawKey);
    } finally {
      redis.disconnect();
    }
  }

  return { catalogVsPg, cartVsRedis };
}

export function printServiceEfficiency(services: ServiceEfficiency): void {
  console.log("\n2. Service efficiency: service vs raw client at the same concurrency (closed loop; latency ms)");
  const rows: Cell[][] = [];
  for (const cmp of [services.catalogVsPg, services.cartVsRedis]) {
    for (const [name, f] of Object.entries(cmp.variants)) rows.push([name, f.throughput, f.p50, f.p99, f.errors, cmp.serviceThroughputRatio[name] ?? "(service)"]);
  }
  console.log(renderTable(["variant", "ops/s", "p50", "p99", "errors", "service/raw"], rows));
}
