// Prints what the program declares under Pulumi's mocks for the settings in
// argv[2] (raw stack values; argv[3] the keys that are secrets), as JSON. Runs in
// its own process: mocks and the real engine's runtime must not share one.
import { parseStackSettings } from "../../infra/config.js";
import { declaredResources } from "../../infra/resource-graph.js";

const raw = JSON.parse(process.argv[2] ?? "{}") as Record<string, unknown>;
const secretKeys = new Set(JSON.parse(process.argv[3] ?? "[]") as string[]);
const resources = await declaredResources("deploy", parseStackSettings(raw, secretKeys));
process.stdout.write(JSON.stringify(resources));
