// Which rendered artifacts of a stack the goldens in test/golden/<stack>/ hold.
// The dashboards are the same on every stack and committed once, in
// dashboards/generated/ (npm run dashboards:update): a stack's render of them is
// compared with that copy instead of a copy of its own.
import { join } from "node:path";
import { GENERATED_DASHBOARDS_DIR } from "../dashboards/generated-dir.js";

const DASHBOARDS_PREFIX = "grafana/dashboards/";

/** The committed copy a rendered artifact is compared with: the dashboards' one, or the stack's golden. */
export function committedCopy(goldenDir: string, stack: string, path: string): string {
  return path.startsWith(DASHBOARDS_PREFIX) ? join(GENERATED_DASHBOARDS_DIR, path.slice(DASHBOARDS_PREFIX.length)) : join(goldenDir, stack, path);
}

/** Whether a rendered artifact has a golden of the stack's own. */
export function isStackGolden(path: string): boolean {
  return !path.startsWith(DASHBOARDS_PREFIX);
}
