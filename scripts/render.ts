// npm run render -- --stack <name> --out <dir>: writes every generated artifact of a stack
// under <dir>, offline (no Pulumi CLI, no Docker, no cluster).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { renderStackArtifacts } from "../tools/render-stack.js";
import { writeResourceGraph } from "../tools/resource-graph.js";

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "usage: npm run render -- --stack <name> --out <dir>";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, out: { type: "string" } }, strict: true });
  if (!values.stack) throw new Error(`missing --stack <name> (a Pulumi.<name>.yaml in ${PROJECT_DIR})\n${USAGE}`);
  if (!values.out) throw new Error(`missing --out <dir> (where to write the artifacts)\n${USAGE}`);
  const out = resolve(values.out);
  const artifacts = renderStackArtifacts(PROJECT_DIR, values.stack);
  for (const [path, content] of Object.entries(artifacts)) {
    const file = join(out, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  console.log(`rendered ${Object.keys(artifacts).length} artifacts of stack "${values.stack}" into ${out}`);
  // What `pulumi preview` would create, from a run under Pulumi's mocks.
  const declared = await writeResourceGraph(PROJECT_DIR, values.stack, out);
  console.log(`listed ${declared} resources of stack "${values.stack}" in ${join(out, "resources.json")}`);
}

main().catch((err: unknown) => {
  console.error(`render: ${(err as Error).message}`);
  process.exitCode = 2;
});
