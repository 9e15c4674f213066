// The live path to a running local mesh's traffic policy from another process (the
// rollout command, an operator): a JSON file in the run's state dir with the keys and
// shapes of mesh:canaries, mesh:faults and mesh:rateLimits. The runner watches it,
// applies each new version without restarting a proxy (LocalMesh.setTraffic) and
// answers in a status file, naming the version it applied or why it refused it (the
// running policy then stays as it was).
import { createHash } from "node:crypto";
import { readFileSync, renameSync, rmSync, unwatchFile, watchFile, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseTrafficSettings } from "../config.js";
import type { TrafficPolicy } from "../traffic.js";
import { waitUntil } from "./readiness.js";

export const TRAFFIC_FILE = "traffic.json";
export const TRAFFIC_STATUS_FILE = "traffic-status.json";

export interface TrafficStatus {
  /** Digest of the traffic file's text this status is about. */
  readonly version: string;
  /** The policy running now (the new one when applied, the previous one when refused). */
  readonly traffic: TrafficPolicy;
  readonly error?: string;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

export function readTrafficStatus(stateDir: string): TrafficStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, TRAFFIC_STATUS_FILE), "utf8")) as TrafficStatus;
  } catch {
    return undefined;
  }
}

/**
 * Runner side: applies every new version of the traffic file with `apply`, one at a time,
 * and reports in the status file. Returns the function that stops watching.
 */
export function watchTrafficFile(stateDir: string, current: TrafficPolicy, apply: (traffic: TrafficPolicy) => Promise<void>, log: (line: string) => void): () => void {
  const file = join(stateDir, TRAFFIC_FILE);
  rmSync(file, { force: true });
  let running = current;
  writeAtomically(join(stateDir, TRAFFIC_STATUS_FILE), `${JSON.stringify({ version: "", traffic: running } satisfies TrafficStatus)}\n`);
  let queue = Promise.resolve();
  const onChange = () => {
    queue = queue.then(async () => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return;
      }
      const version = digest(text);
      if (readTrafficStatus(stateDir)?.version === version) return;
      let status: TrafficStatus;
      try {
        const next = parseTrafficSettings(JSON.parse(text) as Record<string, unknown>);
        await apply(next);
        running = next;
        status = { version, traffic: running };
        log(`traffic ${version} applied`);
      } catch (err) {
        status = { version, traffic: running, error: (err as Error).message };
        log(`traffic ${version} refused: ${status.error}`);
      }
      writeAtomically(join(stateDir, TRAFFIC_STATUS_FILE), `${JSON.stringify(status)}\n`);
    });
  };
  watchFile(file, { interval: 250 }, onChange);
  return () => unwatchFile(file, onChange);
}

/** Client side: asks the runner of `stateDir` for `traffic` and resolves once it runs it (throws with its reason when refused). */
export async function requestTraffic(stateDir: string, traffic: TrafficPolicy, timeoutMs = 120_000): Promise<void> {
  const text = `${JSON.stringify(traffic, null, 2)}\n`;
  const version = digest(text);
  writeAtomically(join(stateDir, TRAFFIC_FILE), text);
  let status: TrafficStatus | undefined;
  await waitUntil(`the local mesh in ${stateDir} to apply traffic ${version}`, async () => (status = readTrafficStatus(stateDir))?.version === version, { timeoutMs, intervalMs: 250 });
  if (status?.error !== undefined) throw new Error(`the local mesh refused the traffic policy: ${status.error}`);
}
