// `npm run mesh:local`: the whole mesh as real processes on this machine, until
// SIGINT/SIGTERM. Options: --state-dir DIR (default .mesh/), --replicas catalog=2,cart=1,
// --services catalog,cart (only these pods), --address-block 127.A.B, --envoy-log-level LEVEL,
// --trace-sampling PERCENT (default the stacks' 1), --access-log all|errors|off (default the
// stacks' errors), --traffic FILE (a JSON file with the keys of
// mesh:canaries, mesh:faults and mesh:rateLimits to start with), --no-build. While it runs, a new
// traffic policy goes to <state dir>/traffic.json (infra/local/traffic-file.ts; `npm run rollout`).
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { ENVOY_LOG_LEVELS, parseTrafficSettings } from "../infra/config.js";
import { startLocalMesh, type LocalMesh } from "../infra/local/mesh.js";
import { TRAFFIC_FILE, watchTrafficFile } from "../infra/local/traffic-file.js";
import type { TrafficPolicy } from "../infra/traffic.js";
import { ACCESS_LOG_MODES, SERVICE_NAMES, type ServiceName } from "../infra/model.js";

function parseSampling(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const percent = Number(text);
  if (text.trim() === "" || !Number.isFinite(percent) || percent < 0 || percent > 100) throw new Error(`--trace-sampling takes a percentage from 0 to 100, got "${text}"`);
  return percent;
}

function parseReplicas(text: string | undefined): Partial<Record<ServiceName, number>> {
  const replicas: Partial<Record<ServiceName, number>> = {};
  for (const pair of (text ?? "").split(",").filter(Boolean)) {
    const [name, count] = pair.split("=");
    if (!(SERVICE_NAMES as readonly string[]).includes(name ?? "") || !/^\d+$/.test(count ?? "")) {
      throw new Error(`--replicas takes service=count pairs (services: ${SERVICE_NAMES.join(", ")}), got "${pair}"`);
    }
    replicas[name as ServiceName] = Number(count);
  }
  return replicas;
}

function parseServices(text: string | undefined): ServiceName[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(",").filter(Boolean);
  for (const name of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(name)) throw new Error(`--services takes names from ${SERVICE_NAMES.join(", ")}, got "${name}"`);
  }
  return names as ServiceName[];
}

function readTraffic(file: string | undefined): TrafficPolicy | undefined {
  if (file === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`--traffic ${file}: expected a JSON file with canaries, faults and rateLimits (${(err as Error).message})`, { cause: err });
  }
  return parseTrafficSettings(raw as Record<string, unknown>);
}

/** An option's value when it is one of `allowed`; undefined when the option is absent. */
function oneOf<T extends string>(option: string, allowed: readonly T[], value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new Error(`${option} takes one of ${allowed.join(", ")}, got "${value}"`);
  return found;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "state-dir": { type: "string" },
      replicas: { type: "string" },
      services: { type: "string" },
      "address-block": { type: "string" },
      "envoy-log-level": { type: "string" },
      "trace-sampling": { type: "string" },
      "access-log": { type: "string" },
      traffic: { type: "string" },
      "no-build": { type: "boolean" },
    },
    strict: true,
  });
  const accessLog = oneOf("--access-log", ACCESS_LOG_MODES, values["access-log"]);
  const level = oneOf("--envoy-log-level", ENVOY_LOG_LEVELS, values["envoy-log-level"]);
  const abort = new AbortController();
  // Set once start-up succeeded; the signal handlers read it.
  const running: { mesh?: LocalMesh } = {};
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string): void => {
    // tsx passes a terminal's Ctrl-C on to this process, which got it already: act once.
    if (stopping) return;
    console.log(`\n[mesh] ${signal}: stopping`);
    // During start-up, startLocalMesh stops what it started and then rejects.
    if (!running.mesh) return abort.abort();
    const mesh = running.mesh;
    const started = Object.keys(mesh.processPids()).length;
    stopping ??= mesh.stop().then(() => {
      const left = Object.keys(mesh.processPids());
      if (left.length) {
        console.error(`[mesh] stopped ${started - left.length} of ${started} processes; still running: ${left.join(", ")}`);
        process.exit(1);
      }
      console.log(`[mesh] stopped ${started} processes (Envoys, apps, data stores, Zipkin, Prometheus, DNS); nothing is left running`);
      process.exit(0);
    });
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));

  const mesh = await startLocalMesh({
    stateDir: values["state-dir"],
    replicas: parseReplicas(values.replicas),
    services: parseServices(values.services),
    addressBlock: values["address-block"],
    envoyLogLevel: level,
    traceSamplingPercent: parseSampling(values["trace-sampling"]),
    accessLog,
    traffic: readTraffic(values.traffic),
    build: !values["no-build"],
    signal: abort.signal,
    onProgress: (message) => console.log(`[mesh] ${message}`),
    onUnexpectedExit: (exit) => console.error(`[mesh] ${exit.name} exited unexpectedly (code ${exit.code}, signal ${exit.signal}); see its log under the state dir`),
  });
  running.mesh = mesh;
  if (abort.signal.aborted) return shutdown("interrupted during start-up");
  const e = mesh.endpoints;
  watchTrafficFile(e.stateDir, mesh.model.traffic, (traffic) => mesh.setTraffic(traffic), (line) => console.log(`[mesh] ${line}`));
  console.log(`
[mesh] ready
  gateway     ${e.gateway}   (try ${e.gateway}/api/products)
  prometheus  ${e.prometheus}
  zipkin      ${e.zipkin}
  envoy admin (loopback only):
${Object.entries(e.admin).map(([name, url]) => `    ${name.padEnd(24)} ${url}`).join("\n")}
  endpoints   ${e.stateDir}/endpoints.json
  traffic     ${e.stateDir}/${TRAFFIC_FILE}   (canaries, faults, rate limits: applied live)
Press Ctrl-C to stop.`);
}

main().catch((err: unknown) => {
  console.error(`[mesh] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
