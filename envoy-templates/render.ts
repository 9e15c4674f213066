// Deterministic YAML for every proxy of a mesh: keys sorted, no line folding, so the same
// model and addressing always give byte-identical files (and Pulumi sees no spurious diffs).
import type { Addressing } from "../infra/addressing.js";
import { toYaml } from "../infra/yaml.js";
import { EDGE_PROXY, proxyNames, sidecarName, type MeshModel } from "../infra/model.js";
import type { Release } from "../infra/traffic.js";
import type { EnvoyObject } from "./builders/index.js";
import { assertEnvoyConfig } from "./check.js";
import { type ProxyConfig, withDynamicResources } from "./dynamic.js";
import { edgeBootstrap } from "./edge.js";
import { sidecarBootstrap } from "./sidecar.js";

/** An Envoy config as YAML, keys sorted. */
export function envoyYaml(value: unknown): string {
  return toYaml(value, { sortKeys: true });
}

/**
 * The whole config of one proxy (`edge` or `<service>-sidecar`, of a release), its routes
 * and clusters inline, checked for consistency.
 */
export function proxyBootstrap(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): EnvoyObject {
  let bootstrap: EnvoyObject;
  if (proxy === EDGE_PROXY) bootstrap = edgeBootstrap(model, addressing);
  else {
    const service = model.services.find((s) => sidecarName(s.name) === proxy);
    if (!service) throw new Error(`unknown proxy "${proxy}" (known: ${proxyNames(model).join(", ")})`);
    bootstrap = sidecarBootstrap(model, service.name, addressing, replica, release);
  }
  assertEnvoyConfig(bootstrap, `${proxy} (replica ${replica}, ${release}, ${addressing.target})`);
  return bootstrap;
}

/** A proxy's config as it is deployed: with dynamic resources where its binding names a directory for them. */
export function proxyConfig(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): ProxyConfig {
  const bootstrap = proxyBootstrap(model, proxy, addressing, replica, release);
  const { dynamicDir } = addressing.binding(proxy, replica, release);
  return dynamicDir !== undefined ? withDynamicResources(bootstrap, dynamicDir) : { bootstrap, dynamicFiles: {} };
}

/** The bootstrap file of a proxy. */
export function renderProxyConfig(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): string {
  return envoyYaml(proxyConfig(model, proxy, addressing, replica, release).bootstrap);
}

/** The files of a proxy's dynamic directory (name → YAML); none where its binding has no such directory. */
export function renderDynamicFiles(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): Record<string, string> {
  const { dynamicFiles } = proxyConfig(model, proxy, addressing, replica, release);
  return Object.fromEntries(Object.entries(dynamicFiles).map(([name, response]) => [name, envoyYaml(response)]));
}

/**
 * `envoy/<proxy>.yaml` for every proxy (replica 0), `envoy/<proxy>.dynamic/<file>` for its
 * dynamic resources where the target has them, and the same for each canary's sidecar
 * (`envoy/<service>-canary-sidecar...`).
 */
export function renderEnvoyArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  const proxies = [
    ...proxyNames(model).map((proxy) => ({ proxy, release: "stable" as const, file: proxy })),
    ...model.services.filter((s) => model.traffic.canaries[s.name] !== undefined).map((s) => ({ proxy: sidecarName(s.name), release: "canary" as const, file: `${s.name}-canary-sidecar` })),
  ];
  return Object.fromEntries(
    proxies.flatMap(({ proxy, release, file }) => {
      const { bootstrap, dynamicFiles } = proxyConfig(model, proxy, addressing, 0, release);
      return [[`envoy/${file}.yaml`, envoyYaml(bootstrap)], ...Object.entries(dynamicFiles).map(([name, response]) => [`envoy/${file}.dynamic/${name}`, envoyYaml(response)])];
    }),
  );
}
