// Looks products up in the catalog, through the address orders is given (its
// sidecar's egress in the mesh). Trace and request id travel with each call.
import { getJson } from "@mesh/service-kit";

export interface CatalogProduct {
  readonly id: string;
  readonly priceCents: number;
}

export function catalogClient(baseUrl: string, timeoutMs: number) {
  return {
    /** The product, or undefined when the catalog does not know it; 503 when the catalog cannot answer. */
    async getProduct(id: string, requestId: string): Promise<CatalogProduct | undefined> {
      const answer = await getJson("catalog", `${baseUrl}/products/${encodeURIComponent(id)}`, { requestId, timeoutMs });
      if (answer.status !== 200) return undefined;
      const body = answer.body as { id?: unknown; priceCents?: unknown };
      return typeof body.id === "string" && typeof body.priceCents === "number" ? { id: body.id, priceCents: body.priceCents } : undefined;
    },
  };
}
