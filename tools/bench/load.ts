// Load generation for the benchmark, all against loopback addresses and bounded in
// time (every run stops by itself):
// - openLoop: HTTP requests sent on a fixed schedule regardless of how fast answers
//   come back, latency counted from each request's *intended* send time, so a stall
//   is charged to every request it delayed (no coordinated omission);
// - closedLoop: N concurrent workers each awaiting an operation in a loop (raw
//   database / broker clients, "same concurrency" as an HTTP run);
// - closedLoopHttp: autocannon with a fixed number of connections, unthrottled
//   (maximum throughput) or for a fixed number of requests.
import http from "node:http";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import autocannon from "autocannon";

export interface RunResult {
  /** Latencies (ms) of successful operations. */
  readonly latenciesMs: number[];
  readonly ok: number;
  readonly errors: number;
  /** Wall time of the run, seconds. */
  readonly elapsedSeconds: number;
}

export interface OpenLoopResult extends RunResult {
  readonly targetRate: number;
  /** Requests actually sent per second (scheduled sends that the generator managed to issue). */
  readonly sentRate: number;
  /** Highest lag (ms) between a request's intended and actual send: the generator's own delay. */
  readonly maxSendLagMs: number;
  /**
   * p99 (ms) of the generator's own event-loop delay during the run: how late its timers and
   * socket callbacks ran. Every latency measured includes such delays, so no added p99 can be
   * told apart below about this figure.
   */
  readonly loopDelayP99Ms: number;
}

export interface OpenLoopOptions {
  readonly url: string;
  readonly rate: number;
  readonly durationMs: number;
  readonly agent: http.Agent;
  /** Requests still unanswered this long after their intended send count as errors. */
  readonly timeoutMs?: number;
}

/** A keep-alive agent for open-loop runs; `maxSockets` bounds connections, beyond it requests queue (and that wait counts). */
export function keepAliveAgent(maxSockets = 256): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { url, rate, durationMs, agent } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const latenciesMs: number[] = [];
  let ok = 0;
  let errors = 0;
  let sent = 0;
  let done = 0;
  let maxSendLagMs = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const start = performance.now();

  return new Promise((resolve) => {
    const finish = () => {
      if (done < total) return;
      clearInterval(ticker);
      loopDelay.disable();
      const elapsedSeconds = (performance.now() - start) / 1000;
      const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
      resolve({ latenciesMs, ok, errors, elapsedSeconds, targetRate: rate, sentRate: sent / (durationMs / 1000), maxSendLagMs, loopDelayP99Ms });
    };
    const send = (intended: number) => {
      sent++;
      maxSendLagMs = Math.max(maxSendLagMs, performance.now() - intended);
      let settled = false;
      const settle = (success: boolean) => {
        if (settled) return;
        settled = true;
        if (success) {
          ok++;
          latenciesMs.push(performance.now() - intended);
        } else errors++;
        done++;
        finish();
      };
      const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on("end", () => settle(res.statusCode === 200));
        res.on("error", () => settle(false));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => settle(false));
    };
    // A coarse timer sends every request whose intended time has come; the intended
    // time (not the actual one) is the latency's origin.
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) send(start + next++ * interval);
    };
    const ticker = setInterval(tick, 2);
    tick();
  });
}

export interface ClosedLoopOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  /** One operation; a rejection counts as an error and the worker goes on. */
  readonly op: (worker: number, iteration: number) => Promise<void>;
}

export async function closedLoop(options: ClosedLoopOptions): Promise<RunResult> {
  const latenciesMs: number[] = [];
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const worker = async (id: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const t0 = performance.now();
      try {
        await options.op(id, i);
        latenciesMs.push(performance.now() - t0);
        ok++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  return { latenciesMs, ok, errors, elapsedSeconds: (performance.now() - start) / 1000 };
}

export interface HttpLoadOptions {
  readonly url: string;
  readonly connections: number;
  /** Run length; ignored when `amount` is set. */
  readonly durationMs?: number;
  /** Stop after this many requests instead. */
  readonly amount?: number;
  readonly method?: "GET" | "POST" | "PUT";
  readonly body?: unknown;
  /** Extra request headers (content-type is set for a body). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Status that counts as success (default 200). */
  readonly expectStatus?: number;
  /** Headers that change from request to request: each connection sends these in turn, on top of `headers`. */
  readonly headerCycle?: ReadonlyArray<Readonly<Record<string, string>>>;
  /** Requests per second over all connections (autocannon paces them); unthrottled when absent. */
  readonly rate?: number;
}

export interface HttpLoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly elapsedSeconds: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** Closed-loop HTTP with autocannon: `connections` connections, each sends the next request when the answer arrived. */
export async function closedLoopHttp(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const expect = options.expectStatus ?? 200;
  let ok = 0;
  let wrongStatus = 0;
  const start = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        pipelining: 1,
        ...(options.amount ? { amount: options.amount } : { duration: Math.max(1, (options.durationMs ?? 1000) / 1000) }),
        method: options.method ?? "GET",
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        headers: { ...(options.body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
        ...(options.headerCycle ? { requests: options.headerCycle.map((headers) => ({ headers: { ...options.headers, ...headers } })) } : {}),
        ...(options.rate ? { overallRate: options.rate } : {}),
        timeout: 10,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on("response", (_client, statusCode) => {
      if (statusCode === expect) ok++;
      else wrongStatus++;
    });
  });
  const elapsedSeconds = (performance.now() - start) / 1000;
  return {
    requests: ok + wrongStatus,
    ok,
    errors: wrongStatus + result.errors + result.timeouts,
    elapsedSeconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
  };
}
