// Every generated artifact of a mesh, keyed by relative path: what `npm run render`
// writes and the goldens pin. A plain merge of the generators' outputs.
import type { Addressing } from "../addressing.js";
import type { MeshModel } from "../model.js";
import { renderEnvoyArtifacts } from "../../envoy-templates/index.js";
import { renderGrafanaArtifacts } from "../observability/grafana.js";
import { renderPrometheusArtifacts } from "../observability/prometheus.js";

export function renderArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  return { ...renderEnvoyArtifacts(model, addressing), ...renderObservabilityArtifacts(model, addressing) };
}

/** The Prometheus and Grafana files: what the targets mount into those servers (Envoys get theirs as RenderedProxy). */
export function renderObservabilityArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  return { ...renderPrometheusArtifacts(model, addressing), ...renderGrafanaArtifacts(model, addressing) };
}
