// Every connection the mesh needs, derived from the model: the allow-list the
// NetworkPolicies encode on top of default deny. "outside" is traffic entering
// through a NodePort (the public gateway and the operator UIs).
import { DATA_STORES, EDGE_PROXY, type MeshModel, PORTS } from "../model.js";
import { releaseName, releasesOf } from "../traffic.js";

export const OUTSIDE = "outside";
export const OBSERVABILITY_COMPONENTS = ["prometheus", "grafana", "zipkin"] as const;

export interface Flow {
  /** Component the connection starts from (its pods' name label), or OUTSIDE. */
  readonly from: string;
  readonly to: string;
  readonly port: number;
}

/** Whether the stack runs Grafana (stack config); without it, no flow to or from it. */
export interface FlowOptions {
  readonly grafana: boolean;
}

export function meshFlows(model: MeshModel, options: FlowOptions = { grafana: true }): Flow[] {
  const flows: Flow[] = [
    { from: OUTSIDE, to: EDGE_PROXY, port: PORTS.edgeHttp },
    { from: OUTSIDE, to: EDGE_PROXY, port: PORTS.edgeHttps },
    { from: OUTSIDE, to: "prometheus", port: PORTS.prometheus },
    { from: OUTSIDE, to: "zipkin", port: PORTS.zipkin },
    { from: EDGE_PROXY, to: "zipkin", port: PORTS.zipkin },
    { from: "prometheus", to: EDGE_PROXY, port: PORTS.envoyMetrics },
    // Prometheus scrapes itself (and Grafana) by their Service names.
    { from: "prometheus", to: "prometheus", port: PORTS.prometheus },
  ];
  if (options.grafana) {
    flows.push(
      { from: OUTSIDE, to: "grafana", port: PORTS.grafana },
      { from: "prometheus", to: "grafana", port: PORTS.grafana },
      { from: "grafana", to: "prometheus", port: PORTS.prometheus },
      { from: "grafana", to: "zipkin", port: PORTS.zipkin },
    );
  }
  for (const service of model.services) {
    if (service.routes.length > 0) flows.push({ from: EDGE_PROXY, to: service.name, port: PORTS.sidecarIngress });
    for (const callee of service.calls) flows.push({ from: service.name, to: callee, port: PORTS.sidecarIngress });
    for (const store of service.dataStores) flows.push({ from: service.name, to: store, port: DATA_STORES[store].port });
    flows.push(
      { from: service.name, to: "zipkin", port: PORTS.zipkin },
      // Envoy's and the app's metrics, both on the sidecar's metrics listener.
      { from: "prometheus", to: service.name, port: PORTS.envoyMetrics },
    );
  }
  // A canary's pods are a component of their own (their Deployment and Service must not
  // select the stable ones): they make and take the connections their service does.
  return flows.flatMap((flow) => [flow, ...canaryFlows(model, flow)]);
}

/** The components that run a service's pods: the service, and its canary where it has one. */
function releaseComponents(model: MeshModel, component: string): string[] {
  const service = model.services.find((s) => s.name === component);
  return service === undefined ? [component] : releasesOf(model.traffic, service.name).map((release) => releaseName(service.name, release));
}

function canaryFlows(model: MeshModel, flow: Flow): Flow[] {
  const froms = releaseComponents(model, flow.from);
  const tos = releaseComponents(model, flow.to);
  return froms.flatMap((from) => tos.map((to) => ({ ...flow, from, to }))).filter((f) => f.from !== flow.from || f.to !== flow.to);
}

/** Every component that runs pods in the namespace. */
export function meshComponents(model: MeshModel, options: FlowOptions = { grafana: true }): string[] {
  const observability = OBSERVABILITY_COMPONENTS.filter((c) => options.grafana || c !== "grafana");
  return [EDGE_PROXY, ...model.services.flatMap((s) => releaseComponents(model, s.name)), ...model.dataStores.map((d) => d.name), ...observability];
}
