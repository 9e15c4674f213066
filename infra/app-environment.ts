// The environment of every app, on every target: Docker, Kubernetes and the local
// runner. Data-store and service URLs point at the pod loopback: the sidecar's
// egress listeners. Plain strings in and out, so one function serves all three:
// the Pulumi targets call it inside an apply over their secret passwords
// (infra/plan/mesh-plan.ts), the local runner with the credentials of its run.
import { type EnvoyLogLevel } from "./config.js";
import { POSTGRES_APP_USER, POSTGRES_DATABASE } from "./mesh-secrets.js";
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

export interface RabbitmqCredentials {
  readonly user: string;
  readonly password: string;
  /** The broker's default vhost ("/") when absent. */
  readonly vhost?: string;
}

/**
 * What the apps log in with: the Postgres app role (POSTGRES_APP_USER, never the
 * superuser), Redis's default user and a RabbitMQ user.
 */
export interface AppCredentials {
  readonly postgresAppPassword: string;
  readonly redisPassword: string;
  readonly rabbitmq: RabbitmqCredentials;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what} given for an app that uses it`);
  return value;
}

/**
 * The URL an app connects to `store` with, at `at` (host:port); only that store's
 * credentials need be given. User names and passwords are letters, digits and
 * hyphens on every target, so they go in unescaped; the vhost is a path segment.
 */
export function dataStoreUrl(store: DataStoreName, at: string, credentials: Partial<AppCredentials>): string {
  switch (store) {
    case "postgres": {
      const password = required(credentials.postgresAppPassword, "Postgres app password");
      return `postgres://${POSTGRES_APP_USER}:${password}@${at}/${POSTGRES_DATABASE}`;
    }
    case "redis":
      // No user name: the password is the default user's (requirepass).
      return `redis://:${required(credentials.redisPassword, "Redis password")}@${at}`;
    case "rabbitmq": {
      const { user, password, vhost } = required(credentials.rabbitmq, "RabbitMQ credentials");
      return `amqp://${user}:${password}@${at}${vhost === undefined ? "" : `/${encodeURIComponent(vhost)}`}`;
    }
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
 * connection URLs carry passwords: a target must keep the whole map secret.
 * `credentials` needs only the stores the service uses.
 */
export function appEnvironment(
  model: MeshModel,
  service: ServiceSpec,
  loopback: string,
  credentials: Partial<AppCredentials>,
  logLevel: AppLogLevel,
): Record<string, string> {
  const env: Record<string, string> = {
    PORT: String(PORTS.app),
    HOST: loopback,
    SERVICE_NAME: service.name,
    LOG_LEVEL: logLevel,
    ZIPKIN_URL: `http://${loopback}:${PORTS.zipkin}/api/v2/spans`,
    SHUTDOWN_TIMEOUT_MS: String(APP_SHUTDOWN_TIMEOUT_MS),
    NODE_OPTIONS: appNodeOptions(WORKLOAD_SIZES.app),
  };
  for (const callee of service.calls) {
    env[serviceUrlVariable(callee)] = `http://${loopback}:${getService(model, callee).egressPort}`;
  }
  for (const store of service.dataStores) {
    env[STORE_URL_VARIABLES[store]] = dataStoreUrl(store, `${loopback}:${DATA_STORES[store].port}`, credentials);
  }
  return env;
}
