// The floor for a Node service on this machine: the catalog's GET by id as a bare
// Fastify route with the same pg Pool size and the same query, and nothing else
// (no metrics, no tracing, no response schema, no validation, no logging). The
// benchmark runs it as a process of its own: HOST, PORT, DATABASE_URL, POOL_MAX.
import Fastify from "fastify";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });
const app = Fastify({ logger: false });

app.get<{ Params: { id: string } }>("/products/:id", async (request, reply) => {
  const { rows } = await pool.query<{ id: string; sku: string; name: string; price_cents: number }>("SELECT id, sku, name, price_cents FROM products WHERE id = $1", [request.params.id]);
  const row = rows[0];
  if (!row) return reply.code(404).send({ error: "not_found" });
  return { id: row.id, sku: row.sku, name: row.name, priceCents: row.price_cents };
});
app.get("/readyz", async () => ({ status: "ready" }));

const stop = () => void app.close().then(() => pool.end()).finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
await app.listen({ host: process.env.HOST ?? "127.0.0.1", port: Number(process.env.PORT ?? 0) });
