// The catalog's public routes, registered under /products. "" is the prefix itself:
// /products exactly, as before (a "/" route would answer /products/ too).
import { errorResponses, NotFoundError, openApiLinks, type ServiceRoutes } from "@mesh/service-kit";
import type { productStore } from "../products.js";
import { ListQuery, PAGE_DEFAULTS, Product, ProductInput, ProductList, ProductParams } from "../schemas.js";

/** OpenAPI links from an answer that carries a product to what can be done with it next (fuzzers follow them). */
const productLinks = Object.fromEntries(
  ["getProduct", "updateProduct", "deleteProduct"].map((operationId) => [operationId, { operationId, parameters: { id: "$response.body#/id" } }]),
);

export function productRoutes(products: ReturnType<typeof productStore>): ServiceRoutes {
  return async (app) => {
    app.get("", { schema: { operationId: "listProducts", summary: "A page of products, oldest first", querystring: ListQuery, response: { 200: ProductList, ...errorResponses } } }, async (request) =>
      products.list(request.query.limit ?? PAGE_DEFAULTS.limit, request.query.offset ?? PAGE_DEFAULTS.offset),
    );

    app.post("", { schema: { operationId: "createProduct", summary: "Create a product (409 when the SKU exists)", body: ProductInput, response: { 201: Product, ...errorResponses } }, ...openApiLinks({ 201: productLinks }) }, async (request, reply) =>
      reply.code(201).send(await products.create(request.body)),
    );

    app.get("/:id", { schema: { operationId: "getProduct", summary: "One product", params: ProductParams, response: { 200: Product, ...errorResponses } } }, async (request) => {
      const product = await products.get(request.params.id);
      if (!product) throw new NotFoundError(`product ${request.params.id} not found`);
      return product;
    });

    app.put("/:id", { schema: { operationId: "updateProduct", summary: "Replace a product", params: ProductParams, body: ProductInput, response: { 200: Product, ...errorResponses } }, ...openApiLinks({ 200: productLinks }) }, async (request) => {
      const product = await products.update(request.params.id, request.body);
      if (!product) throw new NotFoundError(`product ${request.params.id} not found`);
      return product;
    });

    app.delete("/:id", { schema: { operationId: "deleteProduct", summary: "Delete a product", params: ProductParams, response: { 204: { type: "null" }, ...errorResponses } } }, async (request, reply) => {
      if (!(await products.remove(request.params.id))) throw new NotFoundError(`product ${request.params.id} not found`);
      return reply.code(204).send(null);
    });
  };
}
