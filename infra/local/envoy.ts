// Envoy processes of the local runner, from the very configs the other targets
// deploy (envoy-templates), and what an Envoy currently sees of its upstreams.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderProxyConfig } from "../../envoy-templates/index.js";
import type { Addressing } from "../addressing.js";
import type { EnvoyLogLevel } from "../config.js";
import type { MeshModel } from "../model.js";
import { WORKLOAD_SIZES, envoyConcurrency } from "../workload-sizes.js";
import type { LocalIdentities } from "./identities.js";
import { httpOk, waitUntil } from "./readiness.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

export function envoyProcessName(proxy: string, replica: number): string {
  return `${proxy}-${replica}`;
}

export function adminUrl(addressing: Addressing, proxy: string, replica: number): string {
  const { admin } = addressing.binding(proxy, replica);
  return `http://${admin.address}:${admin.port}`;
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

export async function startEnvoy(ctx: EnvoyContext, model: MeshModel, proxy: string, replica: number): Promise<ManagedProcess> {
  const { supervisor, addressing } = ctx;
  const name = envoyProcessName(proxy, replica);
  const configFile = join(ctx.configDir, `${name}.yaml`);
  ctx.identities.write(proxy, replica);
  writeFileSync(configFile, renderProxyConfig(model, proxy, addressing, replica));
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
  await waitUntil(`${name} to be ready`, () => httpOk(`${adminUrl(addressing, proxy, replica)}/ready`), { process: managed, timeoutMs: 30_000 });
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
