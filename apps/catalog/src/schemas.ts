// Request and response schemas of the catalog API (the public contract in README.md,
// "Consuming the API"). They validate input, shape output (unknown fields are never
// leaked) and type the handlers.
import { Type, type Static } from "typebox";

export const ProductId = Type.String({ format: "uuid" });

export const ProductInput = Type.Object(
  {
    sku: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$", minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    priceCents: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
  },
  { additionalProperties: false },
);
export type ProductInput = Static<typeof ProductInput>;

export const Product = Type.Object({
  id: ProductId,
  sku: Type.String(),
  name: Type.String(),
  priceCents: Type.Integer(),
});
export type Product = Static<typeof Product>;

export const ProductParams = Type.Object({ id: ProductId });

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  },
  { additionalProperties: false },
);

export const ProductList = Type.Object({ items: Type.Array(Product), total: Type.Integer() });
