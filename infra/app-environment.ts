// The environment of every app container, on both targets. Data-store and
// service URLs point at the pod loopback: the sidecar's egress listeners.
import * as pulumi from "@pulumi/pulumi";
import { type Addressing } from "./addressing.js";
import { type EnvoyLogLevel } from "./config.js";
import { POSTGRES_APP_USER, POSTGRES_DATABASE, RABBITMQ_USER, type MeshSecrets } from "./mesh-secrets.js";
import { DATA_STORES, type DataStoreName, type MeshModel, PORTS, type ServiceSpec, getService, sidecarName } from "./model.js";
import { APP_SHUTDOWN_TIMEOUT_MS, WORKLOAD_SIZES, appNodeOptions } from "./workload-sizes.js";

const APP_LOG_LEVELS: Record<EnvoyLogLevel, string> = {
  trace: "trace", debug: "debug", info: "info", warning: "warn", error: "error", critical: "fatal", off: "silent",
};

function dataStoreUrl(store: DataStoreName, loopback: string, secrets: MeshSecrets): [string, pulumi.Output<string>] {
  const at = `${loopback}:${DATA_STORES[store].port}`;
  switch (store) {
    case "postgres":
      return ["DATABASE_URL", pulumi.interpolate`postgres://${POSTGRES_APP_USER}:${secrets.postgresAppPassword}@${at}/${POSTGRES_DATABASE}`];
    case "redis":
      // No user name: the password is the default user's (requirepass).
      return ["REDIS_URL", pulumi.interpolate`redis://:${secrets.redisPassword}@${at}`];
    case "rabbitmq":
      return ["AMQP_URL", pulumi.interpolate`amqp://${RABBITMQ_USER}:${secrets.rabbitmqPassword}@${at}`];
  }
}

/** Name of the variable carrying the URL of a called service: CATALOG_URL, ORDER_WORKER_URL. */
export function serviceUrlVariable(service: string): string {
  return `${service.toUpperCase().replace(/-/g, "_")}_URL`;
}

/**
 * The app's variables; the whole map is secret when any value is (connection
 * URLs carry passwords), so targets must hand it on as one Output.
 */
export function appEnvironment(
  model: MeshModel,
  service: ServiceSpec,
  addressing: Addressing,
  secrets: MeshSecrets,
  logLevel: EnvoyLogLevel,
): pulumi.Output<Record<string, string>> {
  const loopback = addressing.binding(sidecarName(service.name), 0).podLoopback;
  const plain: Record<string, string> = {
    PORT: String(PORTS.app),
    HOST: loopback,
    SERVICE_NAME: service.name,
    LOG_LEVEL: APP_LOG_LEVELS[logLevel],
    ZIPKIN_URL: `http://${loopback}:${PORTS.zipkin}/api/v2/spans`,
    SHUTDOWN_TIMEOUT_MS: String(APP_SHUTDOWN_TIMEOUT_MS),
    NODE_OPTIONS: appNodeOptions(WORKLOAD_SIZES.app),
  };
  for (const callee of service.calls) {
    plain[serviceUrlVariable(callee)] = `http://${loopback}:${getService(model, callee).egressPort}`;
  }
  const urls = service.dataStores.map((store) => dataStoreUrl(store, loopback, secrets));
  return pulumi.all(urls.map(([, url]) => url)).apply((values) => ({
    ...plain,
    ...Object.fromEntries(urls.map(([key], i) => [key, values[i] as string])),
  }));
}
