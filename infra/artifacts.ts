// Every generated artifact of a mesh, keyed by relative path: what `npm run render` writes
// and what the targets place into their resources. A plain merge of the generators' outputs.
import { readdirSync } from "node:fs";
import { type Addressing, dockerAddressing, kubernetesAddressing } from "./addressing.js";
import { meshModelFor, type StackSettings } from "./config.js";
import type { MeshModel } from "./model.js";
import { readStackFile } from "./stack-config.js";
import { renderEnvoyArtifacts } from "../envoy-templates/index.js";
import { renderGrafanaArtifacts } from "./observability/grafana.js";
import { renderPrometheusArtifacts } from "./observability/prometheus.js";

export function renderArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  return {
    ...renderEnvoyArtifacts(model, addressing),
    ...renderPrometheusArtifacts(model, addressing),
    ...renderGrafanaArtifacts(model, addressing),
  };
}

/** The addressing of the target a stack deploys to. */
export function targetAddressing(settings: StackSettings): Addressing {
  return settings.target === "docker" ? dockerAddressing() : kubernetesAddressing(settings.namespace);
}

/** Stacks with a `Pulumi.<stack>.yaml` in `projectDir`. */
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
