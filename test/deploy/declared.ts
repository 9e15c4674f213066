// Prints what the program declares under Pulumi's mocks for the settings in
// argv[2] (raw stack values; argv[3] the keys that are secrets), as JSON with
// secret values included, so that a change inside a secret (an app's log level in
// its environment) counts as a change. Runs in its own process: mocks and the
// real engine's runtime must not share one.
import { parseStackSettings } from "../../infra/config.js";
import { deployMesh } from "../../infra/mesh-program.js";
import { captureResources } from "../../tools/resource-graph.js";

const raw = JSON.parse(process.argv[2] ?? "{}") as Record<string, unknown>;
const secretKeys = new Set(JSON.parse(process.argv[3] ?? "[]") as string[]);
const settings = parseStackSettings(raw, secretKeys);
const { resources } = await captureResources("deploy", () => deployMesh(settings));
process.stdout.write(JSON.stringify(resources.map(({ type, name, inputs }) => ({ type, name, inputs }))));
