// Memory of the apps under load: each API (catalog, cart, orders) driven through
// the gateway at the fixed rates and unthrottled, with the resident memory of every
// app on its path sampled from /proc and the V8 heap read from the app's own
// Prometheus gauges, against the container limit the targets give every app.
import type { LocalMesh } from "../../../infra/local/mesh.js";
import type { ServiceName } from "../../../infra/model.js";
import { WORKLOAD_SIZES, nodeHeapLimits } from "../../../infra/workload-sizes.js";
import { log, MiB, pidsOf, replicaOf } from "../common.js";
import { closedLoopHttp, type HttpLoadOptions, type HttpLoadResult } from "../load.js";
import type { Options } from "../options.js";
import { ProcessSampler, type ProcessUsage } from "../proc.js";
import { round } from "../stats.js";
import { renderTable, type Cell } from "../table.js";

/** Share of its container's memory limit an app's peak RSS under load may reach. */
export const RSS_BUDGET_SHARE = 0.7;

/** The heap figures prom-client's default metrics export (nodejs_heap_size_{total,used}_bytes). */
export function parseHeapGauges(metrics: string): { totalBytes: number; usedBytes: number } | undefined {
  const total = /^nodejs_heap_size_total_bytes (\d+(?:\.\d+)?)$/m.exec(metrics);
  const used = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)$/m.exec(metrics);
  return total && used ? { totalBytes: Number(total[1]), usedBytes: Number(used[1]) } : undefined;
}

/** Polls each app's /metrics while a run lasts and keeps the highest heap total and use seen. */
class HeapSampler {
  private readonly peaks = new Map<string, { totalBytes: number; usedBytes: number }>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(private readonly metricsUrls: Readonly<Record<string, string>>) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  async stop(): Promise<Record<string, { heapTotalMiB: number | null; heapUsedMiB: number | null }>> {
    clearInterval(this.timer);
    await this.sample();
    return Object.fromEntries(
      Object.keys(this.metricsUrls).map((name) => {
        const p = this.peaks.get(name);
        return [name, { heapTotalMiB: round(p ? p.totalBytes / MiB : NaN, 1), heapUsedMiB: round(p ? p.usedBytes / MiB : NaN, 1) }];
      }),
    );
  }

  private async sample(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      await Promise.all(
        Object.entries(this.metricsUrls).map(async ([name, url]) => {
          const heap = parseHeapGauges(await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text());
          if (!heap) return;
          const peak = this.peaks.get(name);
          this.peaks.set(name, { totalBytes: Math.max(heap.totalBytes, peak?.totalBytes ?? 0), usedBytes: Math.max(heap.usedBytes, peak?.usedBytes ?? 0) });
        }),
      );
    } catch {
      // A scrape that fails under load is skipped; the next one counts.
    } finally {
      this.inFlight = false;
    }
  }
}

interface Workload {
  readonly api: string;
  /** Apps on the request's path (the loaded one first). */
  readonly apps: readonly ServiceName[];
  readonly load: Omit<HttpLoadOptions, "connections" | "durationMs" | "rate">;
}

export async function appMemory(mesh: LocalMesh, o: Options, productId: string) {
  const gateway = mesh.endpoints.gateway;
  const workloads: Workload[] = [
    { api: "GET /api/products/:id", apps: ["catalog"], load: { url: `${gateway}/api/products/${productId}` } },
    { api: "PUT /api/carts/:cartId/items/:productId", apps: ["cart"], load: { url: `${gateway}/api/carts/bench-memory-${process.pid}/items/${productId}`, method: "PUT", body: { quantity: 1 } } },
    {
      api: "POST /api/orders",
      apps: ["orders", "catalog", "order-worker"],
      load: { url: `${gateway}/api/orders`, method: "POST", body: { items: [{ productId, quantity: 1 }] }, expectStatus: 202 },
    },
  ];
  const limitMiB = WORKLOAD_SIZES.app.memoryMiB;
  const loads: Array<number | "max"> = [...o.rates, "max"];
  const runs = [];
  for (const w of workloads) {
    const names = w.apps.map((s) => `${s}-0`);
    const metricsUrls = Object.fromEntries(w.apps.map((s) => [`${s}-0`, `${replicaOf(mesh, s).app}/metrics`]));
    for (const load of loads) {
      log(`memory: ${w.api} at ${load === "max" ? `maximum throughput, ${o.connections} connections` : `${load} req/s`} for ${o.durationS} s`);
      const heap = new HeapSampler(metricsUrls);
      const rss = new ProcessSampler(pidsOf(mesh, names));
      heap.start();
      rss.start();
      let result: HttpLoadResult;
      let usage: Record<string, ProcessUsage>;
      try {
        result = await closedLoopHttp({ ...w.load, connections: o.connections, durationMs: o.durationS * 1000, ...(load === "max" ? {} : { rate: load }) });
      } finally {
        usage = rss.stop();
      }
      const heaps = await heap.stop();
      runs.push({
        api: w.api,
        load,
        throughput: round(result.ok / result.elapsedSeconds, 1),
        errors: result.errors,
        apps: Object.fromEntries(
          names.map((name) => {
            const peak = usage[name]?.maxRssBytes;
            return [name, { maxRssMiB: round(peak === undefined ? NaN : peak / MiB, 1), shareOfLimit: round(peak === undefined ? NaN : peak / MiB / limitMiB, 2), ...heaps[name] }];
          }),
        ),
      });
    }
  }
  const peakShare = Math.max(...runs.flatMap((run) => Object.values(run.apps).map((a) => a.shareOfLimit ?? 0)));
  return { containerLimitMiB: limitMiB, heapLimits: nodeHeapLimits(WORKLOAD_SIZES.app), budgetShare: RSS_BUDGET_SHARE, peakShareOfLimit: peakShare, runs };
}

export type AppMemory = Awaited<ReturnType<typeof appMemory>>;

export function printAppMemory(memory: AppMemory): void {
  const limits = memory.heapLimits;
  console.log(
    `\n5. App memory under load through the gateway: peak RSS (/proc, every 250 ms) and V8 heap (the app's own gauges, every second); container limit ${memory.containerLimitMiB} MiB, ` +
      `V8 semi-space ${limits.semiSpaceMiB} MiB, old generation ${limits.oldSpaceMiB} MiB`,
  );
  const rows: Cell[][] = [];
  for (const run of memory.runs) {
    for (const [app, a] of Object.entries(run.apps)) {
      rows.push([run.api, run.load, run.throughput, run.errors, app, a.maxRssMiB, a.shareOfLimit, a.heapTotalMiB, a.heapUsedMiB]);
    }
  }
  console.log(renderTable(["API", "load req/s", "achieved", "errors", "app", "peak RSS MiB", "÷ limit", "heap total MiB", "heap used MiB"], rows));
  console.log(`Highest share of the limit: ${memory.peakShareOfLimit} (budget ${memory.budgetShare})`);
}
