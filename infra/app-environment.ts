// The environment of every app, on every target: Docker, Kubernetes and the local
// runner. Data-store and service URLs point at the pod loopback: the sidecar's
// egress listeners. Pure: the URLs that carry passwords are secrets by reference
// (infra/environment.ts), resolved by each target from its own passwords.
import type { EnvoyLogLevel, PasswordName } from "./config.js";
import type { EnvEntry } from "./environment.js";
import { POSTGRES_APP_USER, POSTGRES_DATABASE, RABBITMQ_USER } from "./accounts.js";
import { DATA_STORES, type DataStoreName, type MeshModel, PORTS, type ServiceSpec, getService } from "./model.js";
import { APP_SHUTDOWN_TIMEOUT_MS, WORKLOAD_SIZES, appNodeOptions } from "./workload-sizes.js";

/** The apps' level names (pino's), as apps/shared/src/env.ts accepts them in LOG_LEVEL. */
export type AppLogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

const APP_LOG_LEVELS: Record<EnvoyLogLevel, AppLogLevel> = {
  trace: "trace", debug: "debug", info: "info", warning: "warn", error: "error", critical: "fatal", off: "silent",
};

/** The apps' level that matches the stack's Envoy log level. */
export function appLogLevel(envoy: EnvoyLogLevel): AppLogLevel {
  return APP_LOG_LEVELS[envoy];
}

/** The RabbitMQ account the apps log in as: the stack's user on the default vhost ("/") unless given. */
export interface BrokerAccount {
  readonly user: string;
  readonly vhost?: string;
}

export const STACK_BROKER_ACCOUNT: BrokerAccount = { user: RABBITMQ_USER };

/**
 * The stack password each store's URL carries: the Postgres app role's (POSTGRES_APP_USER,
 * never the superuser), Redis's default user's and the RabbitMQ user's.
 */
export const STORE_PASSWORDS: Readonly<Record<DataStoreName, PasswordName>> = { postgres: "postgresApp", redis: "redis", rabbitmq: "rabbitmq" };

/**
 * The URL an app connects to `store` with, at `at` (host:port), with that store's
 * password (STORE_PASSWORDS). User names and passwords are letters, digits and
 * hyphens on every target, so they go in unescaped; the vhost is a path segment.
 */
export function dataStoreUrl(store: DataStoreName, at: string, password: string, broker: BrokerAccount = STACK_BROKER_ACCOUNT): string {
  switch (store) {
    case "postgres":
      return `postgres://${POSTGRES_APP_USER}:${password}@${at}/${POSTGRES_DATABASE}`;
    case "redis":
      // No user name: the password is the default user's (requirepass).
      return `redis://:${password}@${at}`;
    case "rabbitmq":
      return `amqp://${broker.user}:${password}@${at}${broker.vhost === undefined ? "" : `/${encodeURIComponent(broker.vhost)}`}`;
  }
}

/** Name of the variable carrying the URL of a called service: CATALOG_URL, ORDER_WORKER_URL. */
export function serviceUrlVariable(service: string): string {
  return `${service.toUpperCase().replace(/-/g, "_")}_URL`;
}

/** The variable that carries an app's URL of each data store. */
export const STORE_URL_VARIABLES: Record<DataStoreName, string> = { postgres: "DATABASE_URL", redis: "REDIS_URL", rabbitmq: "AMQP_URL" };

/**
 * The app's variables, for the app that shares `loopback` with its sidecar. Its
 * connection URLs carry passwords: each is a secret by the password it needs.
 */
export function appEnvironment(model: MeshModel, service: ServiceSpec, loopback: string, logLevel: AppLogLevel, broker: BrokerAccount = STACK_BROKER_ACCOUNT): EnvEntry[] {
  const plain = (name: string, value: string): EnvEntry => ({ name, value });
  return [
    plain("PORT", String(PORTS.app)),
    plain("HOST", loopback),
    plain("SERVICE_NAME", service.name),
    plain("LOG_LEVEL", logLevel),
    plain("ZIPKIN_URL", `http://${loopback}:${PORTS.zipkin}/api/v2/spans`),
    plain("SHUTDOWN_TIMEOUT_MS", String(APP_SHUTDOWN_TIMEOUT_MS)),
    plain("NODE_OPTIONS", appNodeOptions(WORKLOAD_SIZES.app)),
    ...service.calls.map((callee) => plain(serviceUrlVariable(callee), `http://${loopback}:${getService(model, callee).egressPort}`)),
    ...service.dataStores.map((store) => {
      const at = `${loopback}:${DATA_STORES[store].port}`;
      return { name: STORE_URL_VARIABLES[store], secret: { password: STORE_PASSWORDS[store], format: (password: string) => dataStoreUrl(store, at, password, broker) } };
    }),
  ];
}
