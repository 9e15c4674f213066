// A mesh that has just started, before any request: every series a dashboard panel,
// dashboard variable or alert rule reads already exists (with value 0), so nothing
// shows "No data" on day one. The local runner stands the mesh up (real Envoys,
// apps and data stores) and a real Prometheus scrapes it from the generated config.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { buildMeshModel } from "../../infra/model.js";
import { meshAlertQueryUses, meshDashboardQueryUses, unmetUses, type QueryUse } from "../observability/metric-uses.js";
import { prometheusApi } from "../observability/prometheus-api.js";
import { substituteGrafanaVariables } from "../observability/promql.js";

let mesh: LocalMesh;
let prometheus: ReturnType<typeof prometheusApi>;
const stateDir = mkdtempSync(join(tmpdir(), "mesh-fresh-"));

beforeAll(async () => {
  mesh = await startLocalMesh({ stateDir });
  prometheus = prometheusApi(mesh);
  await prometheus.waitForScrapesAfter(Date.now() / 1000);
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/**
 * A query with its $service variable matching every service: a panel of the Service dashboard has data when it
 * has data for the service it is about. Equality matchers become regex ones, so `$service` may sit inside a
 * regex too (`"$service|$service-canary"`).
 */
function forAnyService(expr: string): string {
  return substituteGrafanaVariables(expr).replace(/([^!])="\$service"/g, '$1=~"$service"').replaceAll("$service", ".+");
}

async function emptyOnes(uses: readonly QueryUse[], exprsOf: (use: QueryUse) => readonly string[]): Promise<string[]> {
  const empty: string[] = [];
  for (const use of uses) {
    for (const expr of exprsOf(use)) if ((await prometheus.instant(forAnyService(expr))).length === 0) empty.push(`${use.where}: ${expr}`);
  }
  return empty;
}

describe("a just-started mesh, before any request", () => {
  const model = buildMeshModel();
  const dashboards = meshDashboardQueryUses(model);
  const alerts = meshAlertQueryUses(model);

  it("exports every metric a dashboard or alert uses, with the labels it filters and groups on", async () => {
    expect(dashboards.length).toBeGreaterThan(50);
    expect(unmetUses([...dashboards, ...alerts], await prometheus.seriesCatalogue(Date.now() / 1000))).toEqual([]);
  });

  it("gives every dashboard panel data (zeros), not \"No data\"", async () => {
    // rate() needs two samples: wait for a second scrape of every target.
    await prometheus.waitForScrapesAfter(Date.now() / 1000);
    expect(await emptyOnes(dashboards.filter((q) => !q.expr.startsWith("label_values(")), (q) => [q.expr])).toEqual([]);
  });

  it("has a series for every selector an alert reads, so the first error already counts", async () => {
    expect(await emptyOnes(alerts, (q) => q.uses.selectors.map((s) => s.text))).toEqual([]);
  });
});
