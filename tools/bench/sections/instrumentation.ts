// Instrumentation cost: the catalog app with metrics and tracing on and off, side by side.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { LOCAL_DATABASE } from "../../../infra/local/apps.js";
import { PROJECT_ROOT, type LocalMesh } from "../../../infra/local/mesh.js";
import { POSTGRES_PASSWORD, POSTGRES_USER } from "../../../infra/local/postgres.js";
import { freePort, get, get2, log, mergeHttp, mergeRuns, stopChild, usageFigures, waitForHttp, type Json } from "../common.js";
import { interleave } from "../interleave.js";
import { closedLoopHttp, keepAliveAgent, openLoop, type HttpLoadResult, type OpenLoopResult } from "../load.js";
import type { Options } from "../options.js";
import { ratio, round } from "../stats.js";
import { renderTable, type Cell } from "../table.js";
export async function instrumentationCost(mesh: LocalMesh, o: Options, productId: string) {
  const slice = (o.durationS * 1000) / o.rounds;
  const host = "127.0.0.1";
  const databaseUrl = `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${mesh.endpoints.dataStores.postgres}/${LOCAL_DATABASE}`;
  const base = { PATH: process.env.PATH, NODE_ENV: "production", HOST: host, SERVICE_NAME: "catalog", LOG_LEVEL: "warn", DATABASE_URL: databaseUrl, SHUTDOWN_TIMEOUT_MS: "5000" };
  const zipkin = `${mesh.endpoints.zipkin}/api/v2/spans`;
  // Both on (as deployed) and both off are the comparison; the two halves show which switch costs what.
  const variants = {
    "metrics+tracing on": { ...base, METRICS_ENABLED: "true", ZIPKIN_URL: zipkin },
    "metrics only": { ...base, METRICS_ENABLED: "true" },
    "tracing only": { ...base, METRICS_ENABLED: "false", ZIPKIN_URL: zipkin },
    "metrics+tracing off": { ...base, METRICS_ENABLED: "false" },
  };
  const children: Record<string, { child: ChildProcess; url: string }> = {};
  try {
    for (const [name, env] of Object.entries(variants)) {
      const port = await freePort(host);
      const child = spawn(process.execPath, [join(PROJECT_ROOT, "apps", "catalog", "dist", "main.js")], { env: { ...env, PORT: String(port) }, stdio: ["ignore", "ignore", "inherit"] });
      children[name] = { child, url: `http://${host}:${port}` };
      await waitForHttp(`http://${host}:${port}/readyz`, child);
    }
    const pids = Object.fromEntries(Object.entries(children).map(([name, { child }]) => [name, child.pid!]));
    log("instrumentation: warming up both apps");
    for (const { url } of Object.values(children)) await closedLoopHttp({ url: `${url}/products/${productId}`, connections: 4, durationMs: 1000 });
    log(`instrumentation: maximum throughput, ${o.connections} connections`);
    const maxRounds = await interleave<HttpLoadResult>(
      Object.entries(children).map(([name, { url }]) => ({ name, run: () => closedLoopHttp({ url: `${url}/products/${productId}`, connections: o.connections, durationMs: slice }) })),
      o.rounds,
      { ...pids, "bench (load generator)": process.pid },
    );
    const rate = o.rates[0]!;
    log(`instrumentation: ${rate} req/s open loop`);
    const agents = Object.fromEntries(Object.keys(children).map((name) => [name, keepAliveAgent()]));
    const rateRounds = await interleave<OpenLoopResult>(
      Object.entries(children).map(([name, { url }]) => ({ name, run: () => openLoop({ url: `${url}/products/${productId}`, rate, durationMs: slice, agent: agents[name]! }) })),
      o.rounds,
      { ...pids, "bench (load generator)": process.pid },
    );
    Object.values(agents).forEach((a) => a.destroy());
    const figures = Object.fromEntries(
      Object.keys(children).map((name) => {
        const max = mergeHttp(maxRounds[name]!.results);
        const fixed = mergeRuns(rateRounds[name]!.results);
        return [name, { maxThroughput: { ...max, processes: usageFigures(maxRounds[name]!, max.ok) }, fixedRate: { rate, ...fixed, processes: usageFigures(rateRounds[name]!, fixed.ok) } }];
      }),
    );
    const on = figures["metrics+tracing on"]!;
    const off = figures["metrics+tracing off"]!;
    const cpuPerReq = (f: typeof on, name: string) => f.maxThroughput.processes[name]?.cpuMsPer1kRequests ?? NaN;
    return {
      app: "catalog, built dist, one process per variant side by side, same env except METRICS_ENABLED and ZIPKIN_URL, direct requests, Postgres direct",
      variants: figures,
      throughputRatioOnToOff: round(ratio(on.maxThroughput.throughput ?? NaN, off.maxThroughput.throughput ?? NaN), 3),
      cpuPerRequestRatioOnToOff: round(ratio(cpuPerReq(on, "metrics+tracing on"), cpuPerReq(off, "metrics+tracing off")), 3),
      p50RatioOnToOffAtRate: round(ratio(on.fixedRate.p50 ?? NaN, off.fixedRate.p50 ?? NaN), 3),
      p99RatioOnToOffAtRate: round(ratio(on.fixedRate.p99 ?? NaN, off.fixedRate.p99 ?? NaN), 3),
    };
  } finally {
    await Promise.all(Object.values(children).map(({ child }) => stopChild(child)));
  }
}

export function printInstrumentationCost(inst: Json, rate: number): void {
  console.log("\n4. Instrumentation cost: catalog app with metrics and tracing (export to Zipkin) on vs off (direct requests)");
  const rows: Cell[][] = Object.entries(inst.variants as Json).map(([name, f]) => [
    name, get(f, "maxThroughput", "throughput"), get(f, "maxThroughput", "p50"), get(f, "maxThroughput", "p99"), get2(f, "maxThroughput", "processes")[name] ? get(get2(f, "maxThroughput", "processes")[name], "cpuMsPer1kRequests") : null,
    get(f, "fixedRate", "p50"), get(f, "fixedRate", "p99"),
  ]);
  console.log(renderTable(["variant", "max req/s", "p50 @max", "p99 @max", "app CPU ms/1k req", `p50 @${rate}/s`, `p99 @${rate}/s`], rows));
  console.log(`on/off: throughput ${get(inst, "throughputRatioOnToOff")}, CPU per request ${get(inst, "cpuPerRequestRatioOnToOff")}, p50 ${get(inst, "p50RatioOnToOffAtRate")}, p99 ${get(inst, "p99RatioOnToOffAtRate")}`);
}
