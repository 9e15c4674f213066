// A stack's artifacts offline, from its Pulumi.<stack>.yaml alone: the settings, the
// model, the addressing of the stack's target, then every generator.
import { readdirSync } from "node:fs";
import type { Addressing } from "../infra/addressing.js";
import { renderArtifacts } from "../infra/artifacts/index.js";
import { meshModelFor, type StackSettings } from "../infra/config.js";
import { dockerAddressing } from "../infra/docker/addressing.js";
import { kubernetesAddressing } from "../infra/kubernetes/addressing.js";
import { readStackFile } from "../infra/stack-config.js";

/** The addressing of the target a stack deploys to. */
export function targetAddressing(settings: StackSettings): Addressing {
  return settings.target === "docker" ? dockerAddressing(settings) : kubernetesAddressing(settings.namespace, settings);
}

/** Stacks with a \`Pulumi.<stack>.yaml\` in \`projectDir\`. */
export function stackNames(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

/** Every artifact of a stack, offline: its stack file, the model and its target's addressing. */
export function renderStackArtifacts(projectDir: string, stack: string): Record<string, string> {
  if (!stackNames(projectDir).includes(stack)) {
    throw new Error(`unknown stack "${stack}": no Pulumi.${stack}.yaml in ${projectDir} (stacks: ${stackNames(projectDir).join(", ")})`);
  }
  const settings = readStackFile(projectDir, stack);
  return renderArtifacts(meshModelFor(settings), targetAddressing(settings));
}
