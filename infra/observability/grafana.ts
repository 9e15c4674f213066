// Grafana provisioning: the Prometheus and Zipkin datasources (fixed uids the
// dashboards refer to), a file provider for the dashboards, and the dashboards.
// Targets deliver `grafana/provisioning/` to GRAFANA_PROVISIONING_PATH and
// `grafana/dashboards/` to GRAFANA_DASHBOARDS_PATH.
import { toYaml } from "../yaml.js";
import { PROMETHEUS_DATASOURCE_UID, ZIPKIN_DATASOURCE_UID } from "../../dashboards/datasources.js";
import { buildDashboards, renderDashboardJson } from "../../dashboards/index.js";
import type { Addressing } from "../addressing.js";
import type { MeshModel } from "../model.js";
import { httpUrl, observabilityEndpoints } from "./endpoints.js";
import { SCRAPE_INTERVAL } from "./prometheus.js";

export const GRAFANA_PROVISIONING_PATH = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS_PATH = "/var/lib/grafana/dashboards";

/** Grafana's environment on every target, besides the admin user and password. */
export const GRAFANA_ENV = {
  GF_PATHS_PROVISIONING: GRAFANA_PROVISIONING_PATH,
  GF_ANALYTICS_REPORTING_ENABLED: "false",
  GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
  GF_LOG_MODE: "console",
} as const;

export function grafanaDatasources(addressing: Addressing): unknown {
  const { prometheus, zipkin } = observabilityEndpoints(addressing);
  return {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: PROMETHEUS_DATASOURCE_UID,
        type: "prometheus",
        access: "proxy",
        url: httpUrl(prometheus),
        isDefault: true,
        editable: false,
        // Lets $__rate_interval cover at least four scrapes.
        jsonData: { timeInterval: SCRAPE_INTERVAL, httpMethod: "POST" },
      },
      {
        name: "Zipkin",
        uid: ZIPKIN_DATASOURCE_UID,
        type: "zipkin",
        access: "proxy",
        url: httpUrl(zipkin),
        editable: false,
      },
    ],
  };
}

export function grafanaDashboardProvider(): unknown {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "mesh",
        orgId: 1,
        folder: "Mesh",
        type: "file",
        // Dashboards are code: edits in the UI would be lost on the next deploy, so refuse them.
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_DASHBOARDS_PATH, foldersFromFilesStructure: false },
      },
    ],
  };
}

export function renderGrafanaArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  const dashboards = Object.entries(buildDashboards(model)).map(([name, d]) => [`grafana/dashboards/${name}.json`, renderDashboardJson(d)]);
  return {
    "grafana/provisioning/datasources/datasources.yaml": toYaml(grafanaDatasources(addressing)),
    "grafana/provisioning/dashboards/dashboards.yaml": toYaml(grafanaDashboardProvider()),
    ...Object.fromEntries(dashboards),
  };
}
