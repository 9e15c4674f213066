// The configurations every validation runs on: every replica of each stack's proxies
// (Docker and Kubernetes addressing from Pulumi.<stack>.yaml) and of the local runner's
// addressing. Replicas differ on Docker (each admin binds its own operator
// address) and locally (each replica has its own pod address); on Kubernetes they do not.
import { fileURLToPath } from "node:url";
import type { Addressing } from "../../infra/addressing.js";
import { targetAddressing, stackNames } from "../../tools/render-stack.js";
import { meshModelFor } from "../../infra/config.js";
import { EDGE_PROXY, buildMeshModel, sidecarName, type MeshModel } from "../../infra/model.js";
import { readStackFile } from "../../infra/stack-config.js";
import { envoyYaml, proxyBootstrap, type EnvoyObject } from "../../envoy-templates/index.js";
import { localAddressing } from "../../infra/local/addressing.js";
import { LocalLayout } from "../../infra/local/layout.js";

export const PROJECT_DIR = fileURLToPath(new URL("../..", import.meta.url));

export interface RenderedConfig {
  /** e.g. "dev/edge", "local/catalog-sidecar#1" */
  readonly label: string;
  readonly bootstrap: EnvoyObject;
  readonly yaml: string;
}

function render(label: string, model: MeshModel, addressing: Addressing, proxy: string, replica = 0): RenderedConfig {
  const bootstrap = proxyBootstrap(model, proxy, addressing, replica);
  return { label: `${label}/${proxy}${replica > 0 ? `#${replica}` : ""}`, bootstrap, yaml: envoyYaml(bootstrap) };
}

/** The edge, and each replica of every service's sidecar. */
function everyReplica(model: MeshModel): Array<{ proxy: string; replica: number }> {
  return [
    { proxy: EDGE_PROXY, replica: 0 },
    ...model.services.flatMap((s) => Array.from({ length: s.replicas }, (_, replica) => ({ proxy: sidecarName(s.name), replica }))),
  ];
}

export function everyRenderedConfig(): RenderedConfig[] {
  const configs: RenderedConfig[] = [];
  for (const stack of stackNames(PROJECT_DIR)) {
    const settings = readStackFile(PROJECT_DIR, stack);
    const model = meshModelFor(settings);
    const addressing = targetAddressing(settings);
    configs.push(...everyReplica(model).map(({ proxy, replica }) => render(stack, model, addressing, proxy, replica)));
  }
  const model = buildMeshModel({ catalog: 2 });
  // The local runner's addressing itself, with the machine's shared stores on 127.0.0.1.
  const local = localAddressing(new LocalLayout("127.0.90"), () => "127.0.0.1");
  configs.push(...everyReplica(model).map(({ proxy, replica }) => render("local", model, local, proxy, replica)));
  return configs;
}
