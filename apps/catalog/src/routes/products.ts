// The catalog's public routes, registered under /products. "" is the prefix itself:
// /products exactly, as before (a "/" route would answer /products/ too).
import { errorResponses, NotFoundError, type ServiceRoutes } from "@mesh/service-kit";
import type { productStore } from "../products.js";
import { ListQuery, PAGE_DEFAULTS, Product, ProductInput, ProductList, ProductParams } from "../schemas.js";

export function productRoutes(products: ReturnType<typeof productStore>): ServiceRoutes {
  return async (app) => {
    app.get("", { schema: { querystring: ListQuery, response: { 200: ProductList, ...errorResponses } } }, async (request) =>
      products.list(request.query.limit ?? PAGE_DEFAULTS.limit, request.query.offset ?? PAGE_DEFAULTS.offset),
    );

    app.post("", { schema: { body: ProductInput, response: { 201: Product, ...errorResponses } } }, async (request, reply) =>
      reply.code(201).send(await products.create(request.body)),
    );

    app.get("/:id", { schema: { params: ProductParams, response: { 200: Product, ...errorResponses } } }, async (request) => {
      const product = await products.get(request.params.id);
      if (!product) throw new NotFoundError(`product ${request.params.id} not found`);
      return product;
    });

    app.put("/:id", { schema: { params: ProductParams, body: ProductInput, response: { 200: Product, ...errorResponses } } }, async (request) => {
      const product = await products.update(request.params.id, request.body);
      if (!product) throw new NotFoundError(`product ${request.params.id} not found`);
      return product;
    });

    app.delete("/:id", { schema: { params: ProductParams, response: { 204: { type: "null" }, ...errorResponses } } }, async (request, reply) => {
      if (!(await products.remove(request.params.id))) throw new NotFoundError(`product ${request.params.id} not found`);
      return reply.code(204).send(null);
    });
  };
}
