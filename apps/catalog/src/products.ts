// Products in Postgres. Parameterised queries only; a duplicate SKU surfaces as
// ConflictError (409) from the unique constraint, so concurrent creates race safely.
import { ConflictError } from "@mesh/service-kit";
import { PREPARED, type Query } from "@mesh/service-kit/postgres";
import type { Product, ProductInput } from "./schemas.js";

/** The names the store's queries are timed and counted under. */
export const PRODUCT_OPERATIONS = {
  list: "products.list",
  count: "products.count",
  get: "products.get",
  create: "products.create",
  update: "products.update",
  remove: "products.delete",
} as const;

const UNIQUE_VIOLATION = "23505";
const COLUMNS = "id, sku, name, price_cents";

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  price_cents: number;
}

const toProduct = (row: ProductRow): Product => ({ id: row.id, sku: row.sku, name: row.name, priceCents: row.price_cents });

function rethrowDuplicate(err: unknown, sku: string): never {
  if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new ConflictError(`a product with sku "${sku}" already exists`);
  throw err;
}

export function productStore(query: Query) {
  return {
    async list(limit: number, offset: number): Promise<{ items: Product[]; total: number }> {
      const rows = await query<ProductRow & { total: string }>(
        PRODUCT_OPERATIONS.list,
        `SELECT ${COLUMNS}, count(*) OVER () AS total FROM products ORDER BY created_at, id LIMIT $1 OFFSET $2`,
        [limit, offset],
        PREPARED,
      );
      let total = Number(rows.rows[0]?.total ?? 0);
      // A page past the end has no rows to carry the window count.
      if (rows.rows.length === 0 && offset > 0) {
        total = Number((await query<{ total: string }>(PRODUCT_OPERATIONS.count, "SELECT count(*) AS total FROM products")).rows[0]?.total ?? 0);
      }
      return { items: rows.rows.map(toProduct), total };
    },
    async get(id: string): Promise<Product | undefined> {
      const result = await query<ProductRow>(PRODUCT_OPERATIONS.get, `SELECT ${COLUMNS} FROM products WHERE id = $1`, [id], PREPARED);
      return result.rows[0] && toProduct(result.rows[0]);
    },
    async create(input: ProductInput): Promise<Product> {
      try {
        const result = await query<ProductRow>(
          PRODUCT_OPERATIONS.create,
          `INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
          [input.sku, input.name, input.priceCents],
        );
        return toProduct(result.rows[0]!);
      } catch (err) {
        rethrowDuplicate(err, input.sku);
      }
    },
    async update(id: string, input: ProductInput): Promise<Product | undefined> {
      try {
        const result = await query<ProductRow>(
          PRODUCT_OPERATIONS.update,
          `UPDATE products SET sku = $2, name = $3, price_cents = $4, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, input.sku, input.name, input.priceCents],
        );
        return result.rows[0] && toProduct(result.rows[0]);
      } catch (err) {
        rethrowDuplicate(err, input.sku);
      }
    },
    async remove(id: string): Promise<boolean> {
      const result = await query(PRODUCT_OPERATIONS.remove, "DELETE FROM products WHERE id = $1", [id]);
      return result.rowCount === 1;
    },
  };
}
