// `npm run bench -- --out <file.json> [--duration <s>] [--rates 200,500,1000] [--rounds 4]
//   [--concurrency 10] [--connections 32] [--drain 500] [--sections mesh,hops,dynamic,services,orders,instrumentation,memory]`
//
// Stands the local mesh up, measures side by side (variants interleaved in short
// rounds), prints tables and writes the same figures as JSON. Not a test: no
// thresholds, the figures are for people to read. All traffic is on loopback and
// every run is bounded in time; everything started is stopped at the end.
//   --duration   seconds each variant of each comparison runs, split over --rounds rounds
//   --rates      open-loop request rates (req/s) for the mesh-overhead latency runs
//   --concurrency in-flight operations for service-vs-raw-client comparisons (default 10 = the apps' pg pool size)
//   --connections connections for the maximum-throughput runs
//   --drain      orders in the worker drain backlog
// The mesh's state (configs, logs) goes to .mesh/bench/.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { findBinaries } from "../../infra/local/binaries.js";
import { PROJECT_ROOT, startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { json, log, type Json } from "./common.js";
import { describeMachine } from "./machine.js";
import { parseOptions } from "./options.js";
import type { PairSectionOptions } from "./envoy-pairs.js";
import { dynamicResourceCosts, printDynamicResources } from "./sections/dynamic.js";
import { hopCosts, printHops } from "./sections/hops.js";
import { instrumentationCost, printInstrumentationCost } from "./sections/instrumentation.js";
import { appMemory, printAppMemory } from "./sections/memory.js";
import { meshOverhead, printMeshOverhead, REDUCED_SAMPLING_PERCENT } from "./sections/mesh-overhead.js";
import { ordersThroughput, printOrders } from "./sections/orders.js";
import { printServiceEfficiency, serviceEfficiency } from "./sections/services.js";

function printReport(report: Json): void {
  const m = report.machine as Json;
  console.log(`\nMachine: ${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memoryTotalGiB} GiB, ${m.kernel}, Node ${m.node}, Envoy ${m.envoy}; load average at start ${(m.loadAverageAtStart as number[]).join(" ")}`);
  if (report.meshOverhead) printMeshOverhead(report.meshOverhead as Json);
  if (report.hops) printHops(report.hops as Json);
  if (report.dynamicResources) printDynamicResources(report.dynamicResources as Json);
  if (report.serviceEfficiency) printServiceEfficiency(report.serviceEfficiency as Json);
  if (report.orders) printOrders(report.orders as Json);
  if (report.instrumentationCost) printInstrumentationCost(report.instrumentationCost as Json, (report.options as { rates: number[] }).rates[0]!);
  if (report.appMemory) printAppMemory(report.appMemory as Json);
}

async function main(): Promise<void> {
  const o = parseOptions();
  const machine = describeMachine(findBinaries().envoy);
  const startedAt = new Date().toISOString();
  log(`starting the local mesh (${o.sections.join(", ")}; ${o.durationS} s per variant in ${o.rounds} rounds)`);
  const abort = new AbortController();
  const running: { mesh?: LocalMesh } = {};
  const onSignal = () => {
    abort.abort();
    void running.mesh?.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Its own state dir, so a bench never touches the files of a mesh started by `npm run mesh:local`.
  const mesh = await startLocalMesh({ stateDir: join(PROJECT_ROOT, ".mesh", "bench"), signal: abort.signal, onProgress: (m) => log(`mesh: ${m}`) });
  running.mesh = mesh;
  const report: Json = { startedAt, machine, options: o };
  try {
    const product = await json<{ id: string }>(
      await fetch(`${mesh.endpoints.gateway}/api/products`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sku: `bench-${process.pid}-${Date.now()}`, name: "Benchmark product", priceCents: 1234 }),
      }),
    );
    if (o.sections.includes("mesh")) report.meshOverhead = await meshOverhead(mesh, o, product.id);
    const [zipkinAddress, zipkinPort] = new URL(mesh.endpoints.zipkin).host.split(":");
    /** For the sections of Envoy pairs, each with a state directory of its own. */
    const pairOptions = (section: string): PairSectionOptions => ({
      envoy: findBinaries().envoy,
      stateDir: join(PROJECT_ROOT, ".mesh", "bench", section),
      zipkin: { address: zipkinAddress!, port: Number(zipkinPort) },
      samplingPercent: REDUCED_SAMPLING_PERCENT,
      rates: o.rates,
      connections: o.connections,
      durationS: o.durationS,
      rounds: o.rounds,
      log,
    });
    if (o.sections.includes("hops")) report.hops = await hopCosts(pairOptions("hops"));
    if (o.sections.includes("dynamic")) report.dynamicResources = await dynamicResourceCosts(pairOptions("dynamic"));
    if (o.sections.includes("services")) report.serviceEfficiency = await serviceEfficiency(mesh, o, product.id);
    if (o.sections.includes("orders")) report.orders = await ordersThroughput(mesh, o, product.id);
    if (o.sections.includes("instrumentation")) report.instrumentationCost = await instrumentationCost(mesh, o, product.id);
    if (o.sections.includes("memory")) report.appMemory = await appMemory(mesh, o, product.id);
    report.unexpectedExits = mesh.unexpectedExits().map((e) => e.name);
    report.finishedAt = new Date().toISOString();
  } finally {
    log("stopping the mesh");
    await mesh.stop();
  }
  writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  log(`figures written to ${o.out}`);
}

main().catch((err: unknown) => {
  console.error(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
