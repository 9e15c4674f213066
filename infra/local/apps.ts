// How the local runner starts an app: its built entry point and the environment
// of the app contract (PORT, HOST, SERVICE_NAME, ZIPKIN_URL, data-store URLs that
// point at the pod's own sidecar egress, and one <SERVICE>_URL per called service).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { DATA_STORES, PORTS, SERVICE_NAMES, getService, type DataStoreName, type MeshModel, type ServiceName } from "../model.js";
import { POSTGRES_PASSWORD, POSTGRES_USER } from "./postgres.js";
import { RABBITMQ_PASSWORD, RABBITMQ_USER } from "./rabbitmq.js";
import { serviceUrlVariable } from "../app-environment.js";
import { APP_SHUTDOWN_TIMEOUT_MS, WORKLOAD_SIZES, appNodeOptions } from "../workload-sizes.js";

const run = promisify(execFile);

/** One database for every service, as on the other targets; each service keeps its own tables and migrations. */
export const LOCAL_DATABASE = "mesh";

export function appEntryPoint(root: string, service: ServiceName): string {
  return join(root, "apps", service, "dist", "main.js");
}

/** Builds every app (incremental: `tsc -b` does nothing when dist is current). */
export async function buildApps(root: string, services: readonly ServiceName[] = SERVICE_NAMES): Promise<void> {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-b", ...services.map((s) => join(root, "apps", s))], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const out = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`building the apps failed:\n${out.stdout ?? ""}${out.stderr ?? out.message}`, { cause: err });
  }
}

export function missingEntryPoints(root: string, services: readonly ServiceName[] = SERVICE_NAMES): string[] {
  return services.map((s) => appEntryPoint(root, s)).filter((p) => !existsSync(p));
}

function storeUrl(store: DataStoreName, pod: string, options: { vhost: string; redisPassword: string }): { name: string; value: string } {
  const port = DATA_STORES[store].port;
  switch (store) {
    case "postgres":
      return { name: "DATABASE_URL", value: `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${pod}:${port}/${LOCAL_DATABASE}` };
    case "redis":
      return { name: "REDIS_URL", value: `redis://:${options.redisPassword}@${pod}:${port}` };
    case "rabbitmq":
      return { name: "AMQP_URL", value: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@${pod}:${port}/${encodeURIComponent(options.vhost)}` };
  }
}

export function appEnvironment(
  model: MeshModel,
  service: ServiceName,
  pod: string,
  options: { vhost: string; redisPassword: string; logLevel: string },
): NodeJS.ProcessEnv {
  const spec = getService(model, service);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    PORT: String(PORTS.app),
    HOST: pod,
    SERVICE_NAME: service,
    LOG_LEVEL: options.logLevel,
    ZIPKIN_URL: `http://${pod}:${PORTS.zipkin}/api/v2/spans`,
    SHUTDOWN_TIMEOUT_MS: String(APP_SHUTDOWN_TIMEOUT_MS),
    NODE_OPTIONS: appNodeOptions(WORKLOAD_SIZES.app),
  };
  for (const store of spec.dataStores) {
    const { name, value } = storeUrl(store, pod, options);
    env[name] = value;
  }
  for (const called of spec.calls) {
    env[serviceUrlVariable(called)] = `http://${pod}:${getService(model, called).egressPort}`;
  }
  return env;
}
