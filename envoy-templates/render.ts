// Deterministic YAML for every proxy of a mesh: keys sorted, no line folding, so the same
// model and addressing always give byte-identical files (and Pulumi sees no spurious diffs).
import type { Addressing } from "../infra/addressing.js";
import { toYaml } from "../infra/yaml.js";
import { EDGE_PROXY, proxyNames, sidecarName, type MeshModel } from "../infra/model.js";
import { CANARY_SUFFIX, type Release, releaseReplicas, releasesOf } from "../infra/traffic.js";
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

/** One running Envoy's files, as every target gives them to it: its bootstrap and its dynamic directory's files (name → YAML). */
export interface RenderedProxy {
  readonly proxy: string;
  readonly release: Release;
  readonly replica: number;
  readonly bootstrap: string;
  /** Empty where its binding names no dynamic directory. */
  readonly dynamicFiles: Readonly<Record<string, string>>;
}

/** The files of one replica of a proxy (of a release). */
export function renderProxy(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): RenderedProxy {
  const { bootstrap, dynamicFiles } = proxyConfig(model, proxy, addressing, replica, release);
  return {
    proxy,
    release,
    replica,
    bootstrap: envoyYaml(bootstrap),
    dynamicFiles: Object.fromEntries(Object.entries(dynamicFiles).map(([name, response]) => [name, envoyYaml(response)])),
  };
}

/**
 * Every Envoy the model runs, in order: the edge, then each service's replicas of each
 * release. What the targets deploy (infra/plan/mesh-plan.ts) and the goldens pin.
 */
export function renderProxies(model: MeshModel, addressing: Addressing): RenderedProxy[] {
  return [
    renderProxy(model, EDGE_PROXY, addressing),
    ...model.services.flatMap((service) =>
      releasesOf(model.traffic, service.name).flatMap((release) =>
        Array.from({ length: releaseReplicas(model.traffic, service, release) }, (_, replica) => renderProxy(model, sidecarName(service.name), addressing, replica, release)),
      ),
    ),
  ];
}

/** One proxy replica among `proxies`; an error says which is missing. */
export function findProxy(proxies: readonly RenderedProxy[], proxy: string, replica = 0, release: Release = "stable"): RenderedProxy {
  const found = proxies.find((p) => p.proxy === proxy && p.replica === replica && p.release === release);
  if (!found) throw new Error(`no rendered config for ${proxy} replica ${replica} (${release}): the model runs no such proxy`);
  return found;
}

/** The bootstrap file of a proxy. */
export function renderProxyConfig(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): string {
  return renderProxy(model, proxy, addressing, replica, release).bootstrap;
}

/** The files of a proxy's dynamic directory (name → YAML); none where its binding has no such directory. */
export function renderDynamicFiles(model: MeshModel, proxy: string, addressing: Addressing, replica = 0, release: Release = "stable"): Record<string, string> {
  return { ...renderProxy(model, proxy, addressing, replica, release).dynamicFiles };
}

/** Where a rendered proxy's files go among the artifacts: `envoy/<proxy>` or `envoy/<service>-canary-sidecar`, `.replica-<n>` past replica 0. */
function artifactStem({ proxy, release, replica }: RenderedProxy): string {
  const name = release === "canary" ? `${proxy.slice(0, -"-sidecar".length)}${CANARY_SUFFIX}-sidecar` : proxy;
  return `envoy/${name}${replica > 0 ? `.replica-${replica}` : ""}`;
}

/**
 * Every proxy's files as artifacts: `<stem>.yaml` for its bootstrap and `<stem>.dynamic/<file>`
 * for its dynamic resources. A replica past the first is listed only where its files differ
 * from replica 0's (on Docker its admin binds its own address; on Kubernetes every replica
 * reads one ConfigMap, so they cannot differ).
 */
export function renderEnvoyArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  const proxies = renderProxies(model, addressing);
  const same = (a: RenderedProxy, b: RenderedProxy) => a.bootstrap === b.bootstrap && JSON.stringify(a.dynamicFiles) === JSON.stringify(b.dynamicFiles);
  const key = (p: RenderedProxy) => `${p.proxy}/${p.release}`;
  const firsts = new Map(proxies.filter((p) => p.replica === 0).map((p) => [key(p), p]));
  return Object.fromEntries(
    proxies
      .filter((p) => {
        const first = firsts.get(key(p));
        return first === undefined || p === first || !same(p, first);
      })
      .flatMap((p) => {
        const stem = artifactStem(p);
        return [[`${stem}.yaml`, p.bootstrap], ...Object.entries(p.dynamicFiles).map(([name, content]) => [`${stem}.dynamic/${name}`, content])];
      }),
  );
}
