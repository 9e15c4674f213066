// Where the generated dashboard JSON is committed.
import { fileURLToPath } from "node:url";

export const GENERATED_DASHBOARDS_DIR = fileURLToPath(new URL("./generated/", import.meta.url));
