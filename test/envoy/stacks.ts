// The configurations every validation runs on: every replica of each stack's proxies
// (Docker and Kubernetes addressing from Pulumi.<stack>.yaml) and of the local runner's
// addressing, as the targets deploy them. Replicas differ on Docker (each admin binds its
// own operator address) and locally (each replica has its own pod address); on Kubernetes
// they do not (one ConfigMap per Deployment).
import { fileURLToPath } from "node:url";
import type { Addressing } from "../../infra/addressing.js";
import { targetAddressing, stackNames } from "../../tools/render-stack.js";
import { meshModelFor } from "../../infra/config.js";
import { buildMeshModel, type MeshModel } from "../../infra/model.js";
import { readStackFile } from "../../infra/stack-config.js";
import { envoyYaml, proxyBootstrap, renderProxies, type EnvoyObject } from "../../envoy-templates/index.js";
import { localAddressing } from "../../infra/local/addressing.js";
import { LocalLayout } from "../../infra/local/layout.js";

export const PROJECT_DIR = fileURLToPath(new URL("../..", import.meta.url));

export interface RenderedConfig {
  /** e.g. "dev/edge", "local/catalog-sidecar#1" */
  readonly label: string;
  readonly bootstrap: EnvoyObject;
  readonly yaml: string;
}

/** Every proxy replica the model runs on `addressing` (the list the targets deploy: renderProxies), each as its bootstrap. */
function renderEvery(label: string, model: MeshModel, addressing: Addressing): RenderedConfig[] {
  return renderProxies(model, addressing).map(({ proxy, replica, release }) => {
    const bootstrap = proxyBootstrap(model, proxy, addressing, replica, release);
    return { label: `${label}/${proxy}${release === "canary" ? "@canary" : ""}${replica > 0 ? `#${replica}` : ""}`, bootstrap, yaml: envoyYaml(bootstrap) };
  });
}

export function everyRenderedConfig(): RenderedConfig[] {
  const configs: RenderedConfig[] = [];
  for (const stack of stackNames(PROJECT_DIR)) {
    const settings = readStackFile(PROJECT_DIR, stack);
    const model = meshModelFor(settings);
    const addressing = targetAddressing(settings);
    configs.push(...renderEvery(stack, model, addressing));
  }
  const model = buildMeshModel({ catalog: 2 });
  // The local runner's addressing itself, with the machine's shared stores on 127.0.0.1.
  const local = localAddressing(new LocalLayout("127.0.90"), () => "127.0.0.1");
  configs.push(...renderEvery("local", model, local));
  return configs;
}
