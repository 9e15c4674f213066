// Request and response schemas of the catalog API (the public contract in README.md,
// "Consuming the API"). They validate input, shape output (unknown fields are never
// leaked) and type the handlers.
import { Text, Uuid } from "@mesh/service-kit";
import { Type, type Static } from "typebox";

export const ProductId = Uuid;

export const ProductInput = Type.Object(
  {
    sku: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$", minLength: 1, maxLength: 64 }),
    name: Text({ minLength: 1, maxLength: 200 }),
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

/** A page when the query names none; Ajv fills these in, the handler never sees them missing. */
export const PAGE_DEFAULTS = { limit: 20, offset: 0 } as const;

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: PAGE_DEFAULTS.limit })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: PAGE_DEFAULTS.offset })),
  },
  { additionalProperties: false },
);

export const ProductList = Type.Object({ items: Type.Array(Product), total: Type.Integer() });
