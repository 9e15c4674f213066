// Mesh overhead: the same GET straight to the app and through the edge and the
// catalog sidecar, at fixed rates and at maximum throughput (the edge tracing the
// stack default's share, and REDUCED_SAMPLING_PERCENT).
import type { LocalMesh } from "../../../infra/local/mesh.js";
import { log, mergeHttp, mergeRuns, pidsOf, replicaOf, usageFigures } from "../common.js";
import { interleave } from "../interleave.js";
import { closedLoopHttp, keepAliveAgent, openLoop, type HttpLoadResult, type OpenLoopResult } from "../load.js";
import type { Options } from "../options.js";
import { difference, ratio, round } from "../stats.js";
import { renderTable, type Cell } from "../table.js";
/** Trace share of the extra max-throughput variant: what a loaded stack would set (mesh:traceSamplingPercent). */
export const REDUCED_SAMPLING_PERCENT = 10;

/** Runs `run` with the edge tracing `percent` % of requests, then restores the configured share. */
export async function withEdgeSampling<T>(edgeAdmin: string, percent: number, run: () => Promise<T>): Promise<T> {
  const set = async (value: string) => {
    const res = await fetch(`${edgeAdmin}/runtime_modify?tracing.random_sampling=${value}`, { method: "POST" });
    if (!res.ok) throw new Error(`edge runtime_modify answered ${res.status}: ${await res.text()}`);
  };
  await set(String(percent));
  try {
    return await run();
  } finally {
    // An empty value removes the override: the config's random_sampling applies again.
    await set("");
  }
}

export async function meshOverhead(mesh: LocalMesh, o: Options, productId: string) {
  const catalog = replicaOf(mesh, "catalog");
  const urls = { direct: `${catalog.app}/products/${productId}`, mesh: `${mesh.endpoints.gateway}/api/products/${productId}` };
  const pids = pidsOf(mesh, ["edge-0", "catalog-sidecar-0", "catalog-0"]);
  const slice = (o.durationS * 1000) / o.rounds;
  log("mesh overhead: warming up both paths");
  for (const url of Object.values(urls)) await closedLoopHttp({ url, connections: 4, durationMs: 1000 });

  const fixedRate = [];
  for (const rate of o.rates) {
    log(`mesh overhead: ${rate} req/s open loop, ${o.rounds} interleaved rounds of ${slice / 1000} s per side`);
    const agents = { direct: keepAliveAgent(), mesh: keepAliveAgent() };
    const rounds = await interleave<OpenLoopResult>(
      (["direct", "mesh"] as const).map((name) => ({ name, run: () => openLoop({ url: urls[name], rate, durationMs: slice, agent: agents[name] }) })),
      o.rounds,
      pids,
    );
    Object.values(agents).forEach((a) => a.destroy());
    const side = (name: "direct" | "mesh") => {
      const r = rounds[name]!;
      const merged = mergeRuns(r.results);
      return {
        ...merged,
        sentRate: round(r.results.reduce((a, x) => a + x.sentRate, 0) / r.results.length, 1),
        maxSendLagMs: round(Math.max(...r.results.map((x) => x.maxSendLagMs)), 1),
        processes: usageFigures(r, merged.ok),
      };
    };
    const direct = side("direct");
    const through = side("mesh");
    fixedRate.push({
      rate,
      direct,
      mesh: through,
      addedMs: {
        p50: round(difference(through.p50 ?? NaN, direct.p50 ?? NaN), 3),
        p90: round(difference(through.p90 ?? NaN, direct.p90 ?? NaN), 3),
        p99: round(difference(through.p99 ?? NaN, direct.p99 ?? NaN), 3),
      },
      ratio: {
        p50: round(ratio(through.p50 ?? NaN, direct.p50 ?? NaN)),
        p90: round(ratio(through.p90 ?? NaN, direct.p90 ?? NaN)),
        p99: round(ratio(through.p99 ?? NaN, direct.p99 ?? NaN)),
      },
    });
  }

  log(`mesh overhead: maximum throughput, ${o.connections} connections, unthrottled (mesh tracing ${mesh.model.traceSamplingPercent} % and ${REDUCED_SAMPLING_PERCENT} %)`);
  const edgeAdmin = mesh.endpoints.admin["edge-0"];
  if (!edgeAdmin) throw new Error("the local mesh reports no admin interface for edge-0");
  const maxRun = (name: "direct" | "mesh") => () => closedLoopHttp({ url: urls[name], connections: o.connections, durationMs: slice });
  const maxRounds = await interleave<HttpLoadResult>(
    [
      { name: "direct", run: maxRun("direct") },
      { name: "mesh", run: maxRun("mesh") },
      // The same mesh with the edge tracing fewer requests (admin runtime override, reset after each round).
      { name: "meshSampled", run: () => withEdgeSampling(edgeAdmin, REDUCED_SAMPLING_PERCENT, maxRun("mesh")) },
    ],
    o.rounds,
    pids,
  );
  const maxSide = (name: "direct" | "mesh" | "meshSampled") => {
    const merged = mergeHttp(maxRounds[name]!.results);
    return { ...merged, processes: usageFigures(maxRounds[name]!, merged.ok) };
  };
  const maxDirect = maxSide("direct");
  const maxMesh = maxSide("mesh");
  const maxMeshSampled = maxSide("meshSampled");
  return {
    request: { direct: "GET <catalog app>/products/:id", mesh: "GET <gateway>/api/products/:id (edge Envoy -> catalog sidecar -> app)" },
    fixedRate,
    maxThroughput: {
      connections: o.connections,
      direct: maxDirect,
      mesh: { samplingPercent: mesh.model.traceSamplingPercent, ...maxMesh },
      ratioMeshToDirect: round(ratio(maxMesh.throughput ?? NaN, maxDirect.throughput ?? NaN), 3),
      meshSampled: { samplingPercent: REDUCED_SAMPLING_PERCENT, ...maxMeshSampled },
      ratioMeshSampledToDirect: round(ratio(maxMeshSampled.throughput ?? NaN, maxDirect.throughput ?? NaN), 3),
    },
  };
}

export type MeshOverhead = Awaited<ReturnType<typeof meshOverhead>>;

export function printMeshOverhead(mesh: MeshOverhead): void {
  console.log("\n1. Mesh overhead: GET product by id, direct to the app vs through edge + sidecar (latency ms, open loop, from intended send time)");
  const rows: Cell[][] = mesh.fixedRate.map((r) => [
    r.rate, r.direct.sentRate, r.direct.p50, r.mesh.p50, r.addedMs.p50, r.direct.p90, r.mesh.p90, r.addedMs.p90,
    r.direct.p99, r.mesh.p99, r.addedMs.p99, r.ratio.p99, `${r.direct.errors}/${r.mesh.errors}`,
  ]);
  console.log(renderTable(["rate", "sent/s", "p50 dir", "p50 mesh", "+p50", "p90 dir", "p90 mesh", "+p90", "p99 dir", "p99 mesh", "+p99", "p99 x", "errors d/m"], rows));
  console.log("\nEnvoy and app CPU (% of one core; ms CPU per 1000 requests) and peak RSS (MiB) during the through-the-mesh runs");
  const procRows: Cell[][] = [];
  for (const r of mesh.fixedRate) {
    for (const [name, u] of Object.entries(r.mesh.processes)) procRows.push([`${r.rate} req/s`, name, u.cpuPercentOfOneCore, u.cpuMsPer1kRequests, u.maxRssMiB]);
  }
  for (const [name, u] of Object.entries(mesh.maxThroughput.mesh.processes)) procRows.push(["max", name, u.cpuPercentOfOneCore, u.cpuMsPer1kRequests, u.maxRssMiB]);
  console.log(renderTable(["load", "process", "CPU %", "CPU ms/1k req", "RSS MiB"], procRows));
  const mt = mesh.maxThroughput;
  console.log(`\nMaximum throughput (${mt.connections} connections): direct ${mt.direct.throughput} req/s, mesh (edge tracing ${mt.mesh.samplingPercent} %) ${mt.mesh.throughput} req/s, mesh/direct ${mt.ratioMeshToDirect}`);
  console.log(`  with the edge tracing ${mt.meshSampled.samplingPercent} %: mesh ${mt.meshSampled.throughput} req/s, mesh/direct ${mt.ratioMeshSampledToDirect}`);
}
