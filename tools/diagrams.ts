// Architecture diagrams as Mermaid, generated from the mesh model so they cannot
// drift from what the generators and targets build.
import { DATA_STORES, EDGE_PROXY, PORTS, sidecarName, type MeshModel, type ServiceSpec } from "../infra/model.js";

const id = (name: string) => name.replace(/[^a-zA-Z0-9]/g, "_");

function pod(service: ServiceSpec): string[] {
  const replicas = service.replicas > 1 ? ` ×${service.replicas}` : "";
  const role = service.kind === "worker" ? "worker" : "app";
  return [
    `    subgraph ${id(service.name)}_pod["${service.name} pod${replicas}"]`,
    `      ${id(sidecarName(service.name))}["Envoy sidecar<br/>:${PORTS.sidecarIngress} ingress, :${PORTS.envoyMetrics} metrics"]`,
    `      ${id(service.name)}_app["${service.name} ${role}<br/>127.0.0.1:${PORTS.app}"]`,
    `      ${id(sidecarName(service.name))} -->|localhost| ${id(service.name)}_app`,
    `    end`,
  ];
}

/** Topology: edge, pods (sidecar + app), data stores, observability, networks. */
export function topologyDiagram(model: MeshModel): string {
  const lines = ["flowchart LR", `  client(["client"]) -->|"HTTP :${PORTS.edgeHttp}"| ${EDGE_PROXY}`];
  lines.push(`  subgraph mesh["mesh network"]`);
  lines.push(`    ${EDGE_PROXY}["edge Envoy"]`);
  for (const service of model.services) lines.push(...pod(service));
  lines.push("  end");
  lines.push(`  subgraph data["data stores (each on its own internal network)"]`);
  for (const store of model.dataStores) lines.push(`    ${id(store.name)}[("${store.name} :${store.port}")]`);
  lines.push("  end");
  lines.push(`  subgraph observability["observability"]`);
  lines.push(`    prometheus["Prometheus :${PORTS.prometheus}"]`, `    grafana["Grafana :${PORTS.grafana}"]`, `    zipkin["Zipkin :${PORTS.zipkin}"]`);
  lines.push("  end");
  for (const service of model.services) {
    const sidecar = id(sidecarName(service.name));
    for (const route of service.routes) lines.push(`  ${EDGE_PROXY} -->|"${route.prefix}"| ${sidecar}`);
    for (const called of service.calls) lines.push(`  ${sidecar} -->|"HTTP egress :${getEgress(model, called)}"| ${id(sidecarName(called))}`);
    for (const store of service.dataStores) lines.push(`  ${sidecar} -->|"TCP :${DATA_STORES[store].port}"| ${id(store)}`);
  }
  lines.push(`  prometheus -.->|"scrape /stats/prometheus, /metrics"| mesh`);
  lines.push(`  mesh -.->|"spans"| zipkin`);
  lines.push(`  grafana -.-> prometheus`, `  grafana -.-> zipkin`);
  return lines.join("\n");
}

function getEgress(model: MeshModel, name: string): number {
  const service = model.services.find((s) => s.name === name);
  if (!service) throw new Error(`diagram: unknown service "${name}"`);
  return service.egressPort;
}

/** A read request: client → edge → sidecar → app → sidecar egress → data store. */
export function requestFlowDiagram(model: MeshModel): string {
  const catalog = model.services.find((s) => s.name === "catalog");
  const route = catalog?.routes[0];
  if (!catalog || !route) throw new Error("diagram: the model has no catalog route");
  return [
    "sequenceDiagram",
    "  participant C as client",
    "  participant E as edge Envoy",
    "  participant S as catalog sidecar",
    "  participant A as catalog app",
    "  participant P as postgres",
    `  C->>E: GET ${route.prefix}/42`,
    `  E->>S: GET ${route.rewrite}/42 (B3 + x-request-id, retries if idempotent)`,
    `  S->>A: 127.0.0.1:${PORTS.app}`,
    `  A->>S: SQL to 127.0.0.1:${DATA_STORES.postgres.port} (TCP proxy)`,
    "  S->>P: SQL",
    "  P-->>A: row",
    "  A-->>E: 200 product",
    "  E-->>C: 200 product",
    "  Note over E,A: each Envoy and the app report spans to Zipkin",
  ].join("\n");
}

/** An order: validated against catalog, stored with its outbox row, published by the relay, consumed by the worker. */
export function orderFlowDiagram(model: MeshModel): string {
  const catalog = model.services.find((s) => s.name === "catalog");
  if (!catalog) throw new Error("diagram: the model has no catalog service");
  return [
    "sequenceDiagram",
    "  participant C as client",
    "  participant E as edge Envoy",
    "  participant O as orders (app + sidecar)",
    "  participant K as catalog (sidecar + app)",
    "  participant P as postgres",
    "  participant R as rabbitmq",
    "  participant W as order-worker (app + sidecar)",
    "  C->>E: POST /api/orders (Idempotency-Key optional)",
    "  E->>O: POST /orders",
    `  O->>K: GET /products/:id via egress :${catalog.egressPort}`,
    "  O->>P: one statement: order (pending) + outbox row (+ key)",
    "  O-->>C: 202 { id, status: pending }",
    "  Note over O,R: the relay in orders, woken by the commit",
    "  O->>P: claim a batch (FOR UPDATE SKIP LOCKED)",
    "  O->>R: publish order.placed (persistent, mandatory)",
    "  R-->>O: confirms",
    "  O->>P: mark published, commit",
    "  R->>W: deliver (prefetch, manual ack)",
    "  W->>P: mark fulfilled once (idempotent)",
    "  W->>R: ack",
    "  Note over R,W: after N failed attempts a message goes to orders.placed.dead",
  ].join("\n");
}

/** The README block between the diagram markers. */
export function diagramsMarkdown(model: MeshModel): string {
  const block = (title: string, body: string) => `### ${title}\n\n\`\`\`mermaid\n${body}\n\`\`\`\n`;
  return [
    "<!-- Generated from the mesh model by `npm run diagrams:update`; do not edit by hand. -->",
    "",
    block("Topology", topologyDiagram(model)),
    block("A request through the edge and a sidecar", requestFlowDiagram(model)),
    block("An order through the queue and the worker", orderFlowDiagram(model)),
  ].join("\n");
}

export const DIAGRAM_START = "<!-- diagrams:start -->";
export const DIAGRAM_END = "<!-- diagrams:end -->";

/** Replaces the block between the markers of `readme` with the current diagrams. */
export function withDiagrams(readme: string, model: MeshModel): string {
  const start = readme.indexOf(DIAGRAM_START);
  const end = readme.indexOf(DIAGRAM_END);
  if (start < 0 || end < start) throw new Error(`README has no ${DIAGRAM_START} … ${DIAGRAM_END} block`);
  return `${readme.slice(0, start + DIAGRAM_START.length)}\n${diagramsMarkdown(model)}${readme.slice(end)}`;
}
