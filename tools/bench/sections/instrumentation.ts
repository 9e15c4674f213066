// Instrumentation cost: the catalog app with metrics and tracing on and off, side by side.
import { join } from "node:path";
import { PROJECT_ROOT, type LocalMesh } from "../../../infra/local/mesh.js";
import { httpOk } from "../../../infra/local/readiness.js";
import { DEFAULT_TRACE_SAMPLING_PERCENT } from "../../../infra/model.js";
import { freePort, waitFor } from "../../../test/support/net.js";
import { startProcess, type RunningProcess } from "../../../test/support/process.js";
import { LOAD_GENERATOR, log, mergeHttp, mergeRuns, usageFigures } from "../common.js";
import { interleave } from "../interleave.js";
import { closedLoopHttp, keepAliveAgent, openLoop, type HttpLoadResult, type OpenLoopResult } from "../load.js";
import type { Options } from "../options.js";
import { ratio, round } from "../stats.js";
import { renderTable, type Cell } from "../table.js";
/** The floor: the same GET from a bare Fastify route (bare-fastify.ts). */
const BARE_FASTIFY = "bare Fastify route";
const TRACED_10 = "metrics+tracing on, 10 % traced";
const TRACED_DEFAULT = `metrics+tracing on, ${DEFAULT_TRACE_SAMPLING_PERCENT} % traced (the default)`;
/** One pool size for every catalog variant (DB_POOL_MAX) and the bare route (POOL_MAX): its default. */
const POOL_SIZE = 10;
/** B3 headers for one traced request in `n`, as an edge sampling 100/n % sends them. */
const oneSampledIn = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    "x-b3-traceid": `${String(i).padStart(4, "0")}651916cd43dd8448eb211c80319c`,
    "x-b3-spanid": "b7ad6b7169203331",
    "x-b3-sampled": i === 0 ? "1" : "0",
  }));

export async function instrumentationCost(mesh: LocalMesh, o: Options, productId: string) {
  const slice = (o.durationS * 1000) / o.rounds;
  const host = "127.0.0.1";
  // Straight to Postgres, as the catalog app logs in.
  const databaseUrl = mesh.appDataStoreUrl("postgres");
  const base = { PATH: process.env.PATH, NODE_ENV: "production", HOST: host, SERVICE_NAME: "catalog", LOG_LEVEL: "warn", DATABASE_URL: databaseUrl, SHUTDOWN_TIMEOUT_MS: "5000", DB_POOL_MAX: String(POOL_SIZE) };
  const zipkin = `${mesh.endpoints.zipkin}/api/v2/spans`;
  // Both on (as deployed) and both off are the comparison; the two halves show which switch costs what.
  const variants = {
    "metrics+tracing on": { ...base, METRICS_ENABLED: "true", ZIPKIN_URL: zipkin },
    "metrics only": { ...base, METRICS_ENABLED: "true" },
    "tracing only": { ...base, METRICS_ENABLED: "false", ZIPKIN_URL: zipkin },
    "metrics+tracing off": { ...base, METRICS_ENABLED: "false" },
  };
  const children: Record<string, { proc: RunningProcess; url: string }> = {};
  /** Starts one variant on a free port and waits until it is ready. */
  const start = async (name: string, args: string[], env: NodeJS.ProcessEnv) => {
    const port = await freePort(host);
    const proc = startProcess(process.execPath, args, { env: { ...env, PORT: String(port) } });
    const url = `http://${host}:${port}`;
    children[name] = { proc, url };
    await waitFor(`${name} ready`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output()}`);
      return httpOk(`${url}/readyz`);
    }, 60_000, 200);
  };
  try {
    for (const [name, env] of Object.entries(variants)) await start(name, [join(PROJECT_ROOT, "apps", "catalog", "dist", "main.js")], env);
    await start(BARE_FASTIFY, ["--import", "tsx", join(PROJECT_ROOT, "tools", "bench", "bare-fastify.ts")], {
      PATH: process.env.PATH, NODE_ENV: "production", HOST: host, DATABASE_URL: databaseUrl, POOL_MAX: String(POOL_SIZE),
    });
    const pids = Object.fromEntries(Object.entries(children).map(([name, { proc }]) => [name, proc.child.pid!]));
    log("instrumentation: warming up the apps");
    for (const { url } of Object.values(children)) await closedLoopHttp({ url: `${url}/products/${productId}`, connections: 4, durationMs: 1000 });
    // Every process at full load, and the fully instrumented one once more with a tenth of its requests traced.
    const maxLoads = [
      ...Object.keys(children).map((name) => ({ name, process: name, headerCycle: undefined })),
      { name: TRACED_10, process: "metrics+tracing on", headerCycle: oneSampledIn(10) },
      { name: TRACED_DEFAULT, process: "metrics+tracing on", headerCycle: oneSampledIn(100 / DEFAULT_TRACE_SAMPLING_PERCENT) },
    ];
    log(`instrumentation: maximum throughput, ${o.connections} connections`);
    const maxRounds = await interleave<HttpLoadResult>(
      maxLoads.map((load) => ({
        name: load.name,
        run: () => closedLoopHttp({ url: `${children[load.process]!.url}/products/${productId}`, connections: o.connections, durationMs: slice, headerCycle: load.headerCycle }),
      })),
      o.rounds,
      { ...pids, [LOAD_GENERATOR]: process.pid },
    );
    const rate = o.rates[0]!;
    log(`instrumentation: ${rate} req/s open loop`);
    const agents = Object.fromEntries(Object.keys(children).map((name) => [name, keepAliveAgent()]));
    const rateRounds = await interleave<OpenLoopResult>(
      Object.entries(children).map(([name, { url }]) => ({ name, run: () => openLoop({ url: `${url}/products/${productId}`, rate, durationMs: slice, agent: agents[name]! }) })),
      o.rounds,
      { ...pids, [LOAD_GENERATOR]: process.pid },
    );
    Object.values(agents).forEach((a) => a.destroy());
    const fixedFigures = (name: string) => {
      const fixed = mergeRuns(rateRounds[name]!.results);
      return { rate, ...fixed, processes: usageFigures(rateRounds[name]!, fixed.ok) };
    };
    const figures = Object.fromEntries(
      maxLoads.map(({ name }) => {
        const max = mergeHttp(maxRounds[name]!.results);
        return [name, { maxThroughput: { ...max, processes: usageFigures(maxRounds[name]!, max.ok) }, ...(rateRounds[name] ? { fixedRate: fixedFigures(name) } : {}) }];
      }),
    );
    const throughput = (name: string) => figures[name]!.maxThroughput.throughput ?? NaN;
    const cpuPerReq = (name: string, process: string) => figures[name]!.maxThroughput.processes[process]?.cpuMsPer1kRequests ?? NaN;
    const fixed = (name: string) => figures[name]!.fixedRate;
    return {
      app: "catalog, built dist, one process per variant side by side, same env except METRICS_ENABLED and ZIPKIN_URL, direct requests, Postgres direct; and the bare Fastify route (tools/bench/bare-fastify.ts) with the same pool size and query",
      variants: figures,
      throughputRatioOnToOff: round(ratio(throughput("metrics+tracing on"), throughput("metrics+tracing off")), 3),
      cpuPerRequestRatioOnToOff: round(ratio(cpuPerReq("metrics+tracing on", "metrics+tracing on"), cpuPerReq("metrics+tracing off", "metrics+tracing off")), 3),
      p50RatioOnToOffAtRate: round(ratio(fixed("metrics+tracing on")?.p50 ?? NaN, fixed("metrics+tracing off")?.p50 ?? NaN), 3),
      p99RatioOnToOffAtRate: round(ratio(fixed("metrics+tracing on")?.p99 ?? NaN, fixed("metrics+tracing off")?.p99 ?? NaN), 3),
      catalogToBareFastify: {
        "metrics on, tracing 100 %": round(ratio(throughput("metrics+tracing on"), throughput(BARE_FASTIFY)), 3),
        "metrics on, tracing 10 %": round(ratio(throughput(TRACED_10), throughput(BARE_FASTIFY)), 3),
        [`metrics on, tracing ${DEFAULT_TRACE_SAMPLING_PERCENT} % (the default)`]: round(ratio(throughput(TRACED_DEFAULT), throughput(BARE_FASTIFY)), 3),
        "metrics on, no tracing": round(ratio(throughput("metrics only"), throughput(BARE_FASTIFY)), 3),
        "metrics and tracing off": round(ratio(throughput("metrics+tracing off"), throughput(BARE_FASTIFY)), 3),
      },
    };
  } finally {
    await Promise.all(Object.values(children).map(({ proc }) => proc.stop(8000)));
  }
}

export type InstrumentationCost = Awaited<ReturnType<typeof instrumentationCost>>;

export function printInstrumentationCost(inst: InstrumentationCost, rate: number): void {
  console.log("\n4. Instrumentation cost: catalog app with metrics and tracing (export to Zipkin) on vs off, and the bare Fastify route (direct requests)");
  const processOf = (variant: string) => (variant === TRACED_10 || variant === TRACED_DEFAULT ? "metrics+tracing on" : variant);
  const rows: Cell[][] = Object.entries(inst.variants).map(([name, f]) => [
    name, f.maxThroughput.throughput, f.maxThroughput.p50, f.maxThroughput.p99, f.maxThroughput.processes[processOf(name)]?.cpuMsPer1kRequests,
    f.fixedRate?.p50, f.fixedRate?.p99,
  ]);
  console.log(renderTable(["variant", "max req/s", "p50 @max", "p99 @max", "app CPU ms/1k req", `p50 @${rate}/s`, `p99 @${rate}/s`], rows));
  console.log(`on/off: throughput ${inst.throughputRatioOnToOff}, CPU per request ${inst.cpuPerRequestRatioOnToOff}, p50 ${inst.p50RatioOnToOffAtRate}, p99 ${inst.p99RatioOnToOffAtRate}`);
  console.log(`catalog / bare Fastify route, max throughput: ${Object.entries(inst.catalogToBareFastify).map(([k, v]) => `${k} ${v}`).join("; ")}`);
}
