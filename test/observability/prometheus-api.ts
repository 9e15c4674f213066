// A Prometheus queried over its HTTP API: instant queries, the series it holds,
// and, for a running mesh's, waiting for a scrape of every target.
import { waitFor } from "../support/net.js";
import type { LocalMesh } from "../../infra/local/mesh.js";
import type { MetricCatalogue } from "./metric-uses.js";

export type InstantVector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** The Prometheus at `url`: its HTTP API, instant queries and the series it holds. */
export function prometheusClient(url: string) {
  async function get<T>(path: string, params: Record<string, string | string[]>): Promise<T> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) query.append(key, v);
    const res = await fetch(`${url}/api/v1/${path}?${query}`, { signal: AbortSignal.timeout(10_000) });
    const json = (await res.json()) as { status: string; data: T; error?: string };
    if (json.status !== "success") throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${json.error}`);
    return json.data;
  }

  async function instant(expr: string): Promise<InstantVector> {
    return (await get<{ result: InstantVector }>("query", { query: expr })).result;
  }

  return {
    get,
    instant,
    /** Metric name -> label names of every series Prometheus holds from the last 10 minutes before `since`. */
    async seriesCatalogue(since: number): Promise<MetricCatalogue> {
      const series = await get<Array<Record<string, string>>>("series", { "match[]": '{__name__=~".+"}', start: String(since - 600) });
      const catalogue: MetricCatalogue = new Map();
      for (const labels of series) {
        const name = labels.__name__!;
        const known = catalogue.get(name) ?? new Set<string>();
        for (const label of Object.keys(labels)) known.add(label);
        catalogue.set(name, known);
      }
      return catalogue;
    },
  };
}

export function prometheusApi(mesh: LocalMesh) {
  const client = prometheusClient(mesh.endpoints.prometheus);
  const { instant } = client;
  return {
    ...client,
    /** Waits until Prometheus has scraped every target (each Envoy and app, and itself) since `since` (seconds). */
    async waitForScrapesAfter(since: number): Promise<void> {
      const targets = 1 + 1 + 2 * mesh.model.services.reduce((n, s) => n + s.replicas, 0);
      await waitFor(
        `a Prometheus scrape of all ${targets} targets after ${new Date(since * 1000).toISOString()}`,
        async () => {
          const scraped = await instant('timestamp(up{job=~"envoy|app|prometheus"})');
          // Prometheus exports its appended-samples counter only once its head has taken samples,
          // so its very first self-scrape lacks it: wait for a self-scrape that has it.
          const appended = await instant("prometheus_tsdb_head_samples_appended_total");
          return scraped.length === targets && scraped.every((t) => Number(t.value[1]) > since) && appended.length > 0;
        },
        60_000,
        500,
      );
    },
  };
}
