// @mesh/service-kit: what every service of the mesh shares.
export * from "./amqp.js";
export * from "./app.js";
export * from "./env.js";
export * from "./errors.js";
export * from "./health.js";
export * from "./http-client.js";
export * from "./metrics.js";
export * from "./migrate.js";
export * from "./openapi.js";
export * from "./orders-contract.js";
export * from "./postgres.js";
export * from "./redis.js";
export * from "./schema-types.js";
export * from "./serve.js";
export * from "./tracing.js";
