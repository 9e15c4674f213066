// The folder flow (eslint.config.js) is enforced: an import against it fails lint.
// Sources are linted as if they were existing files of each folder (the typed rules
// of infra/ need a file the TypeScript project knows).
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: new URL("../..", import.meta.url).pathname });

async function restricted(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const used = imported;\n`, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("the import rules", () => {
  it.each([
    ["a target importing another target", "infra/docker/hardening.ts", 'import { imported } from "../kubernetes/mesh.js";', /a target never imports another target/],
    ["the local runner importing a Pulumi target", "infra/local/layout.ts", 'import { imported } from "../docker/pod-network.js";', /a target never imports another target/],
    ["a generator importing a target", "envoy-templates/names.ts", 'import { imported } from "../infra/docker/operator-network.js";', /generators are target-neutral/],
    ["a dashboard importing the local runner", "dashboards/index.ts", 'import { imported } from "../infra/local/layout.js";', /generators are target-neutral/],
    ["the model importing a tool", "infra/yaml.ts", 'import { imported } from "../tools/diagrams.js";', /import no generator, target, program or tool/],
    ["the model importing a generator", "infra/addressing.ts", 'import { imported } from "../envoy-templates/names.js";', /import no generator, target, program or tool/],
    ["the model importing a target", "infra/model.ts", 'import { imported } from "./docker/operator-network.js";', /import no generator, target, program or tool/],
    ["the generators' gathering importing a target", "infra/artifacts/index.ts", 'import { imported } from "../kubernetes/mesh.js";', /generators are target-neutral/],
    ["the program's target importing a tool", "infra/docker/mesh.ts", 'import { imported } from "../../tools/render-stack.js";', /nothing here imports them|another target/],
    ["a target importing a test helper", "infra/kubernetes/node-ports.ts", 'import { imported } from "../../test/support/net.js";', /nothing here imports them|another target/],
  ])("refuses %s", async (_what, file, source, message) => {
    const messages = await restricted(file, source);
    expect(messages.length, file).toBe(1);
    expect(messages[0]).toMatch(message);
  });

  it.each([
    ["a target importing the model", "infra/docker/hardening.ts", 'import { imported } from "../model.js";'],
    ["a generator importing the model", "envoy-templates/names.ts", 'import { imported } from "../infra/model.js";'],
    ["a tool importing a target", "tools/diagrams.ts", 'import { imported } from "../infra/docker/mesh.js";'],
    ["the program picking a target", "infra/mesh-program.ts", 'import { imported } from "./kubernetes/mesh.js";'],
    ["a target importing the generators", "infra/kubernetes/mesh.ts", 'import { imported } from "../artifacts/index.js";'],
  ])("allows %s", async (_what, file, source) => {
    expect(await restricted(file, source)).toEqual([]);
  });
});
