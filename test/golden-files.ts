// Which rendered artifacts of a stack the goldens in test/golden/<stack>/ hold: the
// Prometheus and Grafana files. The dashboards are the same on every stack and
// committed once, in dashboards/generated/ (npm run dashboards:update): a stack's
// render of them is compared with that copy instead of a copy of its own. The Envoy
// configs are pinned per feature instead (envoy-templates/testdata, npm run golden:cases),
// and every one of every replica is validated (test/envoy/validate.test.ts).
import { join } from "node:path";
import { GENERATED_DASHBOARDS_DIR } from "../dashboards/generated-dir.js";

const DASHBOARDS_PREFIX = "grafana/dashboards/";
const ENVOY_PREFIX = "envoy/";

/** The committed copy a rendered artifact is compared with: the dashboards' one, or the stack's golden; none for an Envoy config. */
export function committedCopy(goldenDir: string, stack: string, path: string): string | undefined {
  if (path.startsWith(ENVOY_PREFIX)) return undefined;
  return path.startsWith(DASHBOARDS_PREFIX) ? join(GENERATED_DASHBOARDS_DIR, path.slice(DASHBOARDS_PREFIX.length)) : join(goldenDir, stack, path);
}

/** Whether a rendered artifact has a golden of the stack's own. */
export function isStackGolden(path: string): boolean {
  return !path.startsWith(DASHBOARDS_PREFIX) && !path.startsWith(ENVOY_PREFIX);
}
