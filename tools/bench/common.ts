// What the benchmark's sections share: the local mesh's processes and merging
// rounds into figures. (Child processes
// and readiness polling come from the tests' kit: test/support.)
import type { LocalMesh, ReplicaEndpoints } from "../../infra/local/mesh.js";
import type { ServiceName } from "../../infra/model.js";
import type { VariantRounds } from "./interleave.js";
import type { HttpLoadResult, RunResult } from "./load.js";
import { findProcess } from "./proc.js";
import { ratio, round, summarize } from "./stats.js";
export const log = (message: string) => console.log(`[bench] ${message}`);
export const MiB = 1024 * 1024;

export function replicaOf(mesh: LocalMesh, service: ServiceName): ReplicaEndpoints {
  const replica = mesh.endpoints.replicas.find((r) => r.service === service && r.replica === 0);
  if (!replica) throw new Error(`no ${service} replica in the mesh`);
  return replica;
}

/** Pids of the named processes (absent ones are skipped) plus this process, the load generator. */
export function pidsOf(mesh: LocalMesh, names: readonly string[]): Record<string, number> {
  const all = mesh.processPids();
  return { ...Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n]!])), [LOAD_GENERATOR]: process.pid };
}

/** The load generator's entry in pidsOf: the bench's own process. */
export const LOAD_GENERATOR = "bench (load generator)";

/** The machine's RabbitMQ node, which every local mesh shares (a vhost each), when it runs here. */
export function sharedBrokerPid(): Record<string, number> {
  const pid = findProcess(["beam.smp", "-s rabbit boot"]);
  return pid === undefined ? {} : { "rabbitmq (shared node)": pid };
}

/** CPU as % of one core and per 1000 successful requests, and peak RSS, for each sampled process. */
export function usageFigures(rounds: VariantRounds<unknown>, okTotal: number) {
  return Object.fromEntries(
    Object.entries(rounds.usage).map(([name, u]) => [
      name,
      {
        cpuPercentOfOneCore: round((u.cpuSeconds / rounds.wallSeconds) * 100, 1),
        cpuMsPer1kRequests: round(okTotal > 0 ? (u.cpuSeconds * 1000) / (okTotal / 1000) : Number.NaN, 1),
        maxRssMiB: round(u.maxRssBytes === undefined ? Number.NaN : u.maxRssBytes / MiB, 1),
      },
    ]),
  );
}

export function mergeRuns(runs: readonly RunResult[]) {
  const latencies = runs.flatMap((r) => r.latenciesMs);
  const ok = runs.reduce((a, r) => a + r.ok, 0);
  const errors = runs.reduce((a, r) => a + r.errors, 0);
  const seconds = runs.reduce((a, r) => a + r.elapsedSeconds, 0);
  const s = summarize(latencies);
  return { ok, errors, throughput: round(ok / seconds, 1), p50: round(s.p50, 3), p90: round(s.p90, 3), p99: round(s.p99, 3), max: round(s.max, 3) };
}

export function mergeHttp(runs: readonly HttpLoadResult[]) {
  const ok = runs.reduce((a, r) => a + r.ok, 0);
  const errors = runs.reduce((a, r) => a + r.errors, 0);
  const seconds = runs.reduce((a, r) => a + r.elapsedSeconds, 0);
  // autocannon reports per-run percentiles; the median round's value is shown (raw samples are not exposed).
  const mid = (pick: (r: HttpLoadResult) => number) => round([...runs.map(pick)].sort((a, b) => a - b)[runs.length >> 1] ?? Number.NaN, 3);
  return { ok, errors, throughput: round(ok / seconds, 1), p50: mid((r) => r.p50), p90: mid((r) => r.p90), p99: mid((r) => r.p99) };
}

export async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export function comparison(rounds: Record<string, VariantRounds<RunResult | HttpLoadResult>>, serviceName: string) {
  const figures = Object.fromEntries(
    Object.entries(rounds).map(([name, r]) => {
      const first = r.results[0];
      const merged = first && "latenciesMs" in first ? mergeRuns(r.results as RunResult[]) : mergeHttp(r.results as HttpLoadResult[]);
      return [name, { ...merged, processes: usageFigures(r, merged.ok) }];
    }),
  );
  const service = figures[serviceName]!;
  const ratios = Object.fromEntries(
    Object.entries(figures)
      .filter(([name]) => name !== serviceName)
      .map(([name, f]) => [name, round(ratio(service.throughput ?? NaN, f.throughput ?? NaN), 3)]),
  );
  return { variants: figures, serviceThroughputRatio: ratios };
}

/** A service against raw clients doing the same work: each variant's figures, and the service's throughput over each raw one's. */
export type Comparison = ReturnType<typeof comparison>;
