// Every dashboard of the mesh, by file name (without .json).
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { MeshModel } from "../infra/model.js";
import { envoyDashboard } from "./envoy.js";
import { grafanaDashboard } from "./grafana.js";
import { meshOverviewDashboard } from "./mesh-overview.js";
import { prometheusDashboard } from "./prometheus.js";
import { serviceDashboard } from "./service.js";

export function buildDashboards(model: MeshModel): Record<string, Dashboard> {
  return {
    "mesh-overview": meshOverviewDashboard(model).build(),
    envoy: envoyDashboard().build(),
    service: serviceDashboard().build(),
    prometheus: prometheusDashboard().build(),
    grafana: grafanaDashboard().build(),
  };
}

/** The JSON Grafana loads, as committed under dashboards/generated/ and delivered to Grafana. */
export function renderDashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
