// Dashboards as code: the committed JSON is what the code generates, every
// query parses and uses only variables the dashboard defines, and the Grafana
// provisioning points at the datasources the dashboards name.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROMETHEUS_DATASOURCE_UID, ZIPKIN_DATASOURCE_UID } from "../../dashboards/datasources.js";
import { GENERATED_DASHBOARDS_DIR } from "../../dashboards/generated-dir.js";
import { buildDashboards, renderDashboardJson } from "../../dashboards/index.js";
import { meshEdges } from "../../dashboards/mesh-overview.js";
import { serviceCluster } from "../../envoy-templates/names.js";
import { RELEASES, releaseName } from "../../infra/traffic.js";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { kubernetesAddressing } from "../../infra/kubernetes/addressing.js";
import { buildMeshModel, SERVICE_NAMES } from "../../infra/model.js";
import { GRAFANA_DASHBOARDS_PATH, renderGrafanaArtifacts } from "../../infra/observability/grafana.js";
import { dashboardQueries, panelExprs as exprsOf } from "./metric-uses.js";

const model = buildMeshModel();
const dashboards = buildDashboards(model);
const panelExprs = (dashboard: string, title: string) => exprsOf(dashboards[dashboard]!, title);

describe("dashboards", () => {
  it("match the committed JSON (run `npm run dashboards:update` after changing them)", () => {
    const committed = readdirSync(GENERATED_DASHBOARDS_DIR).filter((f) => f.endsWith(".json")).sort();
    expect(committed).toEqual(Object.keys(dashboards).map((n) => `${n}.json`).sort());
    for (const [name, dashboard] of Object.entries(dashboards)) {
      expect(readFileSync(join(GENERATED_DASHBOARDS_DIR, `${name}.json`), "utf8"), `${name}.json is stale`).toBe(renderDashboardJson(dashboard));
    }
  });

  it("are the Envoy, Service, Prometheus, Grafana and Mesh overview dashboards, with unique uids", () => {
    const titles = Object.values(dashboards).map((d) => d.title);
    expect(titles.sort()).toEqual(["Envoy", "Grafana", "Mesh overview", "Prometheus", "Service"]);
    const uids = Object.values(dashboards).map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  for (const [name, dashboard] of Object.entries(dashboards)) {
    it(`${name}: panels query the provisioned Prometheus, with unique ids, parseable PromQL and defined variables`, () => {
      const panels = (dashboard.panels ?? []).filter((p) => p.type !== "row");
      expect(panels.length).toBeGreaterThan(0);
      const ids = panels.map((p) => (p as { id?: number }).id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const panel of panels) {
        expect((panel as { datasource?: { uid?: string } }).datasource?.uid, `${panel.title}`).toBe(PROMETHEUS_DATASOURCE_UID);
      }
      const defined = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
      // dashboardQueries parses every expression and throws on the first that does not.
      const queries = dashboardQueries(name, dashboard);
      expect(queries.length).toBeGreaterThanOrEqual(panels.length);
      for (const { where, expr } of queries) {
        for (const [, variable] of expr.matchAll(/\$(?!__)(\w+)/g)) expect(defined.has(variable!), `${where} uses undefined $${variable}`).toBe(true);
      }
    });
  }

  it("service dashboard's $service variable names Envoy clusters too (clusters are named after services)", () => {
    for (const service of model.services) expect(serviceCluster(service.name)).toBe(service.name);
  });

  it("selects every release's cluster of the service, and no other service's, by the $service variable", () => {
    const [matcher] = /envoy_cluster_name=~"([^"]+)"/.exec(panelExprs("service", "Request rate by release")[0]!)!.slice(1);
    for (const service of SERVICE_NAMES) {
      // Prometheus anchors label regexes at both ends.
      const clusters = new RegExp(`^(?:${matcher!.replaceAll("$service", service)})$`);
      for (const other of SERVICE_NAMES) {
        for (const release of RELEASES) expect(clusters.test(releaseName(other, release)), `${service}: ${other} ${release}`).toBe(other === service);
      }
    }
  });

  it("service dashboard compares the stable and canary releases from the callers' clusters", () => {
    const rows = (dashboards.service!.panels ?? []).filter((p) => p.type === "row").map((p) => p.title);
    expect(rows.indexOf("Releases")).toBe(rows.indexOf("Requests (Envoy)") + 1);
    const clusters = 'envoy_cluster_name=~"$service|$service-canary"';
    const requests = `sum by (release) (rate(envoy_cluster_upstream_rq_total{${clusters}}[$__rate_interval]))`;
    const fivexx = `sum by (release) (rate(envoy_cluster_upstream_rq_xx{${clusters},envoy_response_code_class="5"}[$__rate_interval]))`;
    expect(panelExprs("service", "Request rate by release")).toEqual([requests]);
    expect(panelExprs("service", "5xx ratio by release")).toEqual([`(${fivexx} or 0 * ${requests}) / clamp_min(${requests}, 1e-9)`]);
    expect(panelExprs("service", "p99 latency by release")).toEqual([
      `histogram_quantile(0.99, sum by (le, release) (rate(envoy_cluster_upstream_rq_time_bucket{${clusters}}[$__rate_interval])))`,
    ]);
  });

  it("mesh overview counts the edge's local rate-limit 429s under the metric name Envoy exports", () => {
    expect(panelExprs("mesh-overview", "Rate-limited requests / s")).toEqual([
      'sum(rate(envoy_http_local_rate_limit_enforced{service="edge",envoy_local_http_ratelimit_prefix="edge_rate_limit"}[$__rate_interval]))',
    ]);
  });

  it("mesh overview shows every service-to-service edge of the model", () => {
    expect(meshEdges(model)).toEqual([
      { from: "edge", to: "catalog" },
      { from: "edge", to: "cart" },
      { from: "edge", to: "orders" },
      { from: "orders", to: "catalog" },
    ]);
    const titles = (dashboards["mesh-overview"]!.panels ?? []).map((p) => p.title);
    for (const { from, to } of meshEdges(model)) {
      expect(titles).toContain(`${from} → ${to} requests/s`);
      expect(titles).toContain(`${from} → ${to} success`);
    }
    // An edge's traffic is every release's of the callee together.
    expect(panelExprs("mesh-overview", "orders → catalog requests/s")).toEqual([
      'sum(rate(envoy_cluster_upstream_rq_total{service="orders",envoy_cluster_name=~"catalog|catalog-canary"}[$__rate_interval]))',
    ]);
  });
});

describe("Grafana provisioning", () => {
  it("provisions Prometheus and Zipkin at the target's addresses and a provider for the dashboards", () => {
    const files = renderGrafanaArtifacts(model, kubernetesAddressing("mesh"));
    const { datasources } = parse(files["grafana/provisioning/datasources/datasources.yaml"]!);
    expect(datasources).toEqual([
      expect.objectContaining({ uid: PROMETHEUS_DATASOURCE_UID, type: "prometheus", url: "http://prometheus.mesh.svc.cluster.local:9090", isDefault: true }),
      expect.objectContaining({ uid: ZIPKIN_DATASOURCE_UID, type: "zipkin", url: "http://zipkin.mesh.svc.cluster.local:9411" }),
    ]);
    const { providers } = parse(files["grafana/provisioning/dashboards/dashboards.yaml"]!);
    expect(providers).toEqual([expect.objectContaining({ type: "file", options: { path: GRAFANA_DASHBOARDS_PATH, foldersFromFilesStructure: false } })]);
    for (const name of Object.keys(dashboards)) expect(files[`grafana/dashboards/${name}.json`]).toBe(renderDashboardJson(dashboards[name]!));
  });

  it("uses Docker's container names on Docker", () => {
    const { datasources } = parse(renderGrafanaArtifacts(model, dockerAddressing())["grafana/provisioning/datasources/datasources.yaml"]!);
    expect(datasources.map((d: { url: string }) => d.url)).toEqual(["http://prometheus:9090", "http://zipkin:9411"]);
  });
});
