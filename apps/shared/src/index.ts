// @mesh/service-kit: what every service of the mesh shares.
// The backend clients are subpaths of their own, not re-exported here:
// "@mesh/service-kit/postgres", "/migrate", "/redis" and "/amqp". Importing a
// module loads its client library (pg, node-pg-migrate, ioredis, amqplib), and
// each one costs memory in every process that loads it, so an app imports only
// the backends it talks to (apps/shared/test/backend-imports.test.ts checks it).
export * from "./app.js";
export * from "./env.js";
export * from "./errors.js";
export * from "./health.js";
export * from "./http-client.js";
export * from "./metrics.js";
export * from "./openapi.js";
export * from "./orders-contract.js";
export * from "./schema-types.js";
export * from "./serve.js";
export * from "./tracing.js";
