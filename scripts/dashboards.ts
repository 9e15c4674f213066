// Regenerates the committed dashboard JSON (dashboards/generated/) from the
// dashboards-as-code; a test fails while the committed files are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDashboards, renderDashboardJson } from "../dashboards/index.js";
import { GENERATED_DASHBOARDS_DIR } from "../dashboards/generated-dir.js";
import { buildMeshModel } from "../infra/model.js";

mkdirSync(GENERATED_DASHBOARDS_DIR, { recursive: true });
const dashboards = buildDashboards(buildMeshModel());
for (const file of readdirSync(GENERATED_DASHBOARDS_DIR)) {
  if (file.endsWith(".json") && !(file.slice(0, -".json".length) in dashboards)) rmSync(join(GENERATED_DASHBOARDS_DIR, file));
}
for (const [name, dashboard] of Object.entries(dashboards)) {
  writeFileSync(join(GENERATED_DASHBOARDS_DIR, `${name}.json`), renderDashboardJson(dashboard));
  console.log(`wrote dashboards/generated/${name}.json`);
}
