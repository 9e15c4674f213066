// Shared helpers for the observability suites: a local-runner addressing on a
// loopback block, the promtool/prometheus binaries, and writing artifacts out.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Addressing, HostPort } from "../../infra/addressing.js";
import { EDGE_PROXY, PORTS, SERVICE_NAMES, type ServiceName, sidecarName } from "../../infra/model.js";

const run = promisify(execFile);

/**
 * Addressing like the local runner's: each pod replica on its own 127.x.y.z,
 * the edge on `.1`, sidecars from `.10` in blocks of ten per service.
 */
export function loopbackAddressing(prefix: string, extra: { prometheus?: HostPort } = {}): Addressing {
  const hostOf = (proxy: string, replica: number): string => {
    if (proxy === EDGE_PROXY) return `${prefix}.1`;
    const index = SERVICE_NAMES.findIndex((s) => sidecarName(s) === proxy);
    if (index < 0) throw new Error(`unknown proxy ${proxy}`);
    return `${prefix}.${10 * (index + 1) + replica}`;
  };
  return {
    target: "local",
    binding: (proxy, replica) => {
      const host = hostOf(proxy, replica);
      return { listenAddress: host, podLoopback: host, admin: { address: host, port: PORTS.envoyAdmin } };
    },
    serviceHost: (service: ServiceName) => `${service}.mesh.test`,
    dataStoreHost: () => "127.0.0.1",
    zipkin: { address: "127.0.0.1", port: PORTS.zipkin },
    ...extra,
  };
}

/** Writes artifacts (relative path → text) under `dir`. */
export function writeArtifacts(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

const MISSING = 'not found: run "bash scripts/setup.sh" (it installs Debian\'s prometheus package) first';

/** Runs promtool; resolves with its output, rejects with it (and the exit code) on failure. */
export async function promtool(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run("promtool", args, { timeout: 60_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error(`promtool ${MISSING}`, { cause: err });
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
  }
}

export const PROMETHEUS_BIN = "prometheus";
export const PROMETHEUS_MISSING = `prometheus ${MISSING}`;
