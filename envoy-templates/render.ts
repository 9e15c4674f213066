// Deterministic YAML for every proxy of a mesh: keys sorted, no line folding, so the same
// model and addressing always give byte-identical files (and Pulumi sees no spurious diffs).
import type { Addressing } from "../infra/addressing.js";
import { toYaml } from "../infra/yaml.js";
import { EDGE_PROXY, proxyNames, sidecarName, type MeshModel } from "../infra/model.js";
import type { EnvoyObject } from "./builders/index.js";
import { assertEnvoyConfig } from "./check.js";
import { edgeBootstrap } from "./edge.js";
import { sidecarBootstrap } from "./sidecar.js";

/** An Envoy config as YAML, keys sorted. */
export function envoyYaml(value: unknown): string {
  return toYaml(value, { sortKeys: true });
}

/** The bootstrap of one proxy (`edge` or `<service>-sidecar`), checked for consistency. */
export function proxyBootstrap(model: MeshModel, proxy: string, addressing: Addressing, replica = 0): EnvoyObject {
  let bootstrap: EnvoyObject;
  if (proxy === EDGE_PROXY) bootstrap = edgeBootstrap(model, addressing);
  else {
    const service = model.services.find((s) => sidecarName(s.name) === proxy);
    if (!service) throw new Error(`unknown proxy "${proxy}" (known: ${proxyNames(model).join(", ")})`);
    bootstrap = sidecarBootstrap(model, service.name, addressing, replica);
  }
  assertEnvoyConfig(bootstrap, `${proxy} (replica ${replica}, ${addressing.target})`);
  return bootstrap;
}

export function renderProxyConfig(model: MeshModel, proxy: string, addressing: Addressing, replica = 0): string {
  return envoyYaml(proxyBootstrap(model, proxy, addressing, replica));
}

/** `envoy/<proxy>.yaml` for every proxy, with replica 0's binding. */
export function renderEnvoyArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  return Object.fromEntries(proxyNames(model).map((proxy) => [`envoy/${proxy}.yaml`, renderProxyConfig(model, proxy, addressing)]));
}
