// Envoy processes of the local runner, from the very configs the other targets
// deploy (envoy-templates), and what an Envoy currently sees of its upstreams.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { envoyYaml, proxyConfig, renderProxyConfig } from "../../envoy-templates/index.js";
import type { Addressing } from "../addressing.js";
import type { EnvoyLogLevel } from "../config.js";
import type { MeshModel } from "../model.js";
import type { Release } from "../traffic.js";
import { WORKLOAD_SIZES, envoyConcurrency } from "../workload-sizes.js";
import type { LocalIdentities } from "./identities.js";
import { writeSwappedDir } from "./swapped-dir.js";
import { httpOk, waitUntil } from "./readiness.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

export function envoyProcessName(proxy: string, replica: number, release: Release = "stable"): string {
  return release === "stable" ? `${proxy}-${replica}` : `${proxy}-${release}-${replica}`;
}

export function adminUrl(addressing: Addressing, proxy: string, replica: number, release: Release = "stable"): string {
  const { admin } = addressing.binding(proxy, replica, release);
  return `http://${admin.address}:${admin.port}`;
}

/**
 * Writes a proxy's dynamic directory for `model` (one swap: a running Envoy takes it
 * whole), and returns the versions of its files, which the Envoy reports once applied.
 */
export function publishDynamicResources(ctx: EnvoyContext, model: MeshModel, proxy: string, replica: number, release: Release = "stable"): string[] {
  const { dynamicDir } = ctx.addressing.binding(proxy, replica, release);
  if (dynamicDir === undefined) throw new Error(`the local addressing gives ${envoyProcessName(proxy, replica, release)} no dynamic directory`);
  const { dynamicFiles } = proxyConfig(model, proxy, ctx.addressing, replica, release);
  writeSwappedDir(dynamicDir, Object.fromEntries(Object.entries(dynamicFiles).map(([name, response]) => [name, envoyYaml(response)])));
  return Object.values(dynamicFiles).map((response) => String(response.version_info));
}

/** The versions of the routes and clusters an Envoy has applied (its CDS and RDS `version_text` stats). */
export async function appliedVersions(admin: string): Promise<string[]> {
  const res = await fetch(`${admin}/stats?filter=${encodeURIComponent("(cds|rds\\..+)\\.version_text$")}`, { signal: AbortSignal.timeout(2000) });
  return [...(await res.text()).matchAll(/version_text: "([^"]*)"/g)].map((m) => m[1] ?? "");
}

/** Waits until an Envoy runs exactly the dynamic resources of `versions`. */
export async function waitForVersions(admin: string, versions: readonly string[], what: string): Promise<void> {
  const want = [...versions].sort().join(",");
  let applied = "";
  try {
    await waitUntil(`${what} to apply its new routes and clusters`, async () => (applied = (await appliedVersions(admin)).sort().join(",")) === want, { timeoutMs: 30_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message} (versions wanted: ${want}; applied: ${applied})`, { cause: err });
  }
}

/** What every Envoy of a run shares. */
export interface EnvoyContext {
  readonly supervisor: Supervisor;
  /** The Envoy binary. */
  readonly envoy: string;
  readonly configDir: string;
  readonly addressing: Addressing;
  readonly logLevel: EnvoyLogLevel;
  /** Writes each proxy's identity directory (mutual TLS) before it starts. */
  readonly identities: LocalIdentities;
}

export async function startEnvoy(ctx: EnvoyContext, model: MeshModel, proxy: string, replica: number, release: Release = "stable"): Promise<ManagedProcess> {
  const { supervisor, addressing } = ctx;
  const name = envoyProcessName(proxy, replica, release);
  const configFile = join(ctx.configDir, `${name}.yaml`);
  ctx.identities.write(proxy, replica, new Date(), release);
  publishDynamicResources(ctx, model, proxy, replica, release);
  writeFileSync(configFile, renderProxyConfig(model, proxy, addressing, replica, release));
  const managed = supervisor.start({
    name,
    command: ctx.envoy,
    args: [
      "-c", configFile,
      // Many Envoys share one machine: no shared-memory hot restart, and the workers
      // their CPU limit on the other targets gives them.
      "--disable-hot-restart",
      "--concurrency", String(envoyConcurrency(WORKLOAD_SIZES.envoy)),
      "--log-level", ctx.logLevel,
    ],
    graceMs: 5_000,
  });
  await waitUntil(`${name} to be ready`, () => httpOk(`${adminUrl(addressing, proxy, replica, release)}/ready`), { process: managed, timeoutMs: 30_000 });
  return managed;
}

/** Upstream hosts (address:port) an Envoy currently has, with their health flags, from its admin /clusters. */
export async function upstreamHosts(admin: string): Promise<Map<string, string>> {
  const res = await fetch(`${admin}/clusters`, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  const hosts = new Map<string, string>();
  // Lines look like "<cluster>::<address>:<port>::<stat>::<value>"; "health_flags" is "healthy" or a list of failures.
  for (const line of text.split("\n")) {
    const [, host, stat, value] = line.split("::");
    if (!host || !/^\d+\.\d+\.\d+\.\d+:\d+$/.test(host)) continue;
    if (!hosts.has(host)) hosts.set(host, "");
    if (stat === "health_flags") hosts.set(host, value ?? "");
  }
  return hosts;
}
