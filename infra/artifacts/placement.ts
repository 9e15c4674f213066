// Where generated artifacts go inside the Prometheus and Grafana containers.
// Each directory keeps its relative layout: files refer to each other by it
// (prometheus.yml names rules/*.yml; the dashboard provider names its path).
import { GRAFANA_DASHBOARDS_PATH, GRAFANA_PROVISIONING_PATH } from "../observability/grafana.js";
import { PROMETHEUS_CONFIG_FILE, PROMETHEUS_DIR } from "../observability/prometheus.js";

export const PROMETHEUS_CONFIG_DIR = "/etc/prometheus";
export const PROMETHEUS_CONFIG_PATH = `${PROMETHEUS_CONFIG_DIR}/${PROMETHEUS_CONFIG_FILE}`;

export interface ArtifactDir {
  /** Prefix of the artifact keys (infra/artifacts/index.ts), ending in "/". */
  readonly prefix: string;
  /** Directory inside the container. */
  readonly mountPath: string;
}

export const PROMETHEUS_ARTIFACTS: ArtifactDir = { prefix: `${PROMETHEUS_DIR}/`, mountPath: PROMETHEUS_CONFIG_DIR };
export const GRAFANA_PROVISIONING_ARTIFACTS: ArtifactDir = { prefix: "grafana/provisioning/", mountPath: GRAFANA_PROVISIONING_PATH };
export const GRAFANA_DASHBOARD_ARTIFACTS: ArtifactDir = { prefix: "grafana/dashboards/", mountPath: GRAFANA_DASHBOARDS_PATH };

/** The artifacts under one directory, as paths relative to it, sorted. */
export function artifactsIn(artifacts: Readonly<Record<string, string>>, dir: ArtifactDir): Array<{ path: string; content: string }> {
  return Object.entries(artifacts)
    .filter(([key]) => key.startsWith(dir.prefix))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, content]) => ({ path: key.slice(dir.prefix.length), content }));
}
