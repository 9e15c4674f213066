// Every generated artifact of a mesh, keyed by relative path: what the targets place
// into their resources (and \`npm run render\` writes). A plain merge of the generators' outputs.
import type { Addressing } from "../addressing.js";
import type { MeshModel } from "../model.js";
import { renderEnvoyArtifacts } from "../../envoy-templates/index.js";
import { renderGrafanaArtifacts } from "../observability/grafana.js";
import { renderPrometheusArtifacts } from "../observability/prometheus.js";

export function renderArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  return {
    ...renderEnvoyArtifacts(model, addressing),
    ...renderPrometheusArtifacts(model, addressing),
    ...renderGrafanaArtifacts(model, addressing),
  };
}
