// What the Prometheus and Grafana servers run with on every target: their
// arguments, environment, data folders and health paths. The targets only map these onto
// containers; the one difference is visible here with its reason.
import { PROMETHEUS_CONFIG_PATH } from "../artifacts/placement.js";
import type { Target } from "../config.js";
import type { EnvEntry } from "../environment.js";
import { GRAFANA_ADMIN_USER } from "../accounts.js";
import { GRAFANA_ENV } from "./grafana.js";

export const PROMETHEUS_DATA_PATH = "/prometheus";

/**
 * How long Prometheus keeps samples. Docker keeps them in a named volume that
 * survives restarts: a week. On Kubernetes they live in an emptyDir capped at
 * 2 GiB that a rescheduled pod loses anyway: two days fit it.
 */
export const PROMETHEUS_RETENTION: Readonly<Record<Target, string>> = { docker: "7d", kubernetes: "2d" };

export function prometheusArgs(target: Target): string[] {
  return [`--config.file=${PROMETHEUS_CONFIG_PATH}`, `--storage.tsdb.path=${PROMETHEUS_DATA_PATH}`, `--storage.tsdb.retention.time=${PROMETHEUS_RETENTION[target]}`];
}

/** Readiness endpoints the targets' health checks and probes ask. */
export const HEALTH_PATHS = { prometheus: "/-/ready", grafana: "/api/health", zipkin: "/health" } as const;

export const GRAFANA_DATA_PATH = "/var/lib/grafana";

/** Grafana's environment: the admin user and its password (a secret), then its settings. */
export function grafanaEnv(): EnvEntry[] {
  return [
    { name: "GF_SECURITY_ADMIN_USER", value: GRAFANA_ADMIN_USER },
    { name: "GF_SECURITY_ADMIN_PASSWORD", secret: { password: "grafanaAdmin" } },
    ...Object.entries(GRAFANA_ENV).map(([name, value]) => ({ name, value })),
  ];
}
