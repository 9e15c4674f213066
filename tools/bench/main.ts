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
import { json, log } from "./common.js";
import { describeMachine, type MachineDescription } from "./machine.js";
import { parseOptions, type Options } from "./options.js";
import type { PairSectionOptions } from "./envoy-pairs.js";
import { dynamicResourceCosts, printDynamicResources, type DynamicResourceCosts } from "./sections/dynamic.js";
import { hopCosts, printHops, type HopCosts } from "./sections/hops.js";
import { instrumentationCost, printInstrumentationCost, type InstrumentationCost } from "./sections/instrumentation.js";
import { appMemory, printAppMemory, type AppMemory } from "./sections/memory.js";
import { meshOverhead, printMeshOverhead, REDUCED_SAMPLING_PERCENT, type MeshOverhead } from "./sections/mesh-overhead.js";
import { ordersThroughput, printOrders, type OrdersThroughput } from "./sections/orders.js";
import { printServiceEfficiency, serviceEfficiency, type ServiceEfficiency } from "./sections/services.js";

/** What a run writes to --out and prints: a field for each section that ran. Names stay put, so earlier runs' files compare with new ones. */
interface BenchReport {
  startedAt: string;
  machine: MachineDescription;
  options: Options;
  meshOverhead?: MeshOverhead;
  hops?: HopCosts;
  dynamicResources?: DynamicResourceCosts;
  serviceEfficiency?: ServiceEfficiency;
  orders?: OrdersThroughput;
  instrumentationCost?: InstrumentationCost;
  appMemory?: AppMemory;
  /** Mesh processes that exited while the sections ran. */
  unexpectedExits?: string[];
  finishedAt?: string;
}

function printReport(report: BenchReport): void {
  const m = report.machine;
  console.log(`\nMachine: ${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memoryTotalGiB} GiB, ${m.kernel}, Node ${m.node}, Envoy ${m.envoy}; load average at start ${m.loadAverageAtStart.join(" ")}`);
  if (report.meshOverhead) printMeshOverhead(report.meshOverhead);
  if (report.hops) printHops(report.hops);
  if (report.dynamicResources) printDynamicResources(report.dynamicResources);
  if (report.serviceEfficiency) printServiceEfficiency(report.serviceEfficiency);
  if (report.orders) printOrders(report.orders);
  if (report.instrumentationCost) printInstrumentationCost(report.instrumentationCost, report.options.rates[0]!);
  if (report.appMemory) printAppMemory(report.appMemory);
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
  const report: BenchReport = { startedAt, machine, options: o };
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
