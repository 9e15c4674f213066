// Helpers for the end-to-end suites: JSON over HTTP, a bounded load generator,
// an Envoy's per-upstream request counts, and Zipkin trace queries.

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/** One request with a JSON body (when given); the answer's body parsed when it is JSON. */
export async function request(method: string, url: string, body?: unknown): Promise<JsonResponse> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface LoadResult {
  readonly total: number;
  readonly errors: number;
  /** Count of answers by status; network failures count as status 0. */
  readonly statuses: Readonly<Record<number, number>>;
  readonly ratio: number;
}

export interface Load {
  /** Stops sending and resolves with the counts once in-flight requests finished. */
  stop(): Promise<LoadResult>;
  /** Counts so far. */
  snapshot(): LoadResult;
  /** Resolves when the load stopped by itself (cap reached) or was stopped. */
  readonly done: Promise<LoadResult>;
}

function result(statuses: Record<number, number>, isError: (status: number) => boolean): LoadResult {
  let total = 0;
  let errors = 0;
  for (const [status, count] of Object.entries(statuses)) {
    total += count;
    if (isError(Number(status))) errors += count;
  }
  return { total, errors, statuses: { ...statuses }, ratio: total ? errors / total : 0 };
}

/**
 * Sends `send()` from `concurrency` loops until stopped, `maxRequests` were sent
 * or `maxDurationMs` passed, whichever comes first: load that always ends.
 */
export function startLoad(options: {
  send: (i: number) => Promise<number>;
  concurrency: number;
  maxRequests: number;
  maxDurationMs: number;
  isError?: (status: number) => boolean;
}): Load {
  const isError = options.isError ?? ((s) => s === 0 || s >= 500);
  const statuses: Record<number, number> = {};
  const deadline = Date.now() + options.maxDurationMs;
  let sent = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped && sent < options.maxRequests && Date.now() < deadline) {
      const i = sent++;
      // A request that throws (connection reset, timeout) counts as status 0.
      const status = await options.send(i).catch(() => 0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, loop)).then(() => result(statuses, isError));
  return {
    async stop() {
      stopped = true;
      return done;
    },
    snapshot: () => result(statuses, isError),
    done,
  };
}

/** Status of one GET, body drained. */
export async function getStatus(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}

export function formatLoad(label: string, r: LoadResult): string {
  return `${label}: ${r.total} requests, ${r.errors} errors, error ratio ${(r.ratio * 100).toFixed(2)}% (statuses ${JSON.stringify(r.statuses)})`;
}

/** Requests an Envoy sent to each upstream host (`address:port` → rq_total), from admin /clusters. */
export async function upstreamRequestCounts(admin: string): Promise<Map<string, number>> {
  const res = await fetch(`${admin}/clusters`, { signal: AbortSignal.timeout(5000) });
  const counts = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const [, host, stat, value] = line.split("::");
    if (stat === "rq_total" && host) counts.set(host, (counts.get(host) ?? 0) + Number(value));
  }
  return counts;
}

export interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name?: string;
  readonly kind?: "CLIENT" | "SERVER" | "PRODUCER" | "CONSUMER";
  readonly localEndpoint?: { serviceName?: string };
  readonly remoteEndpoint?: { serviceName?: string };
  readonly tags?: Record<string, string>;
}

export async function zipkinTraces(zipkin: string, query: Record<string, string>): Promise<ZipkinSpan[][]> {
  const res = await fetch(`${zipkin}/api/v2/traces?${new URLSearchParams(query)}`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`zipkin answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ZipkinSpan[][];
}

export async function zipkinTrace(zipkin: string, traceId: string): Promise<ZipkinSpan[]> {
  const res = await fetch(`${zipkin}/api/v2/trace/${traceId}`, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) return [];
  return (await res.json()) as ZipkinSpan[];
}

/** Every Prometheus target, with its labels and health. */
export async function prometheusTargets(prometheus: string): Promise<Array<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }>> {
  const res = await fetch(`${prometheus}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }> } };
  return body.data.activeTargets;
}

export async function prometheusQuery(prometheus: string, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query })}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== "success") throw new Error(`query ${query} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}
