// Two Envoy hops against their floor. Every pair forwards the same GET to one
// stand-in upstream (an Envoy answering a product-sized JSON itself, so no app
// work is measured), each pair on its own loopback block, all running at once and
// measured in interleaved rounds:
//   - direct: straight to the upstream (the base for added latency);
//   - bare pair: the floor any Envoy mesh can reach here (bare-envoy.ts);
//   - mesh pair: the mesh's own edge and catalog sidecar, as generated, tracing
//     `samplingPercent` % (spans go to the bench mesh's Zipkin);
//   - the mesh pair with one feature off, for each feature (envoy-features.ts).
// Reported: CPU per request (µs) of each Envoy, the pair's CPU against the bare pair's,
// maximum throughput, and p50/p99 added by the two hops at each fixed rate.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { envoyYaml, proxyBootstrap, type EnvoyObject } from "../../../envoy-templates/index.js";
import type { Addressing, HostPort } from "../../../infra/addressing.js";
import { localAddressing } from "../../../infra/local/addressing.js";
import { LocalLayout, randomBlockPrefix } from "../../../infra/local/layout.js";
import { httpOk, waitUntil } from "../../../infra/local/readiness.js";
import { Supervisor } from "../../../infra/local/supervisor.js";
import { EDGE_PROXY, PORTS, buildMeshModel, sidecarName } from "../../../infra/model.js";
import { meshClientTls, meshServerTls } from "../../../envoy-templates/builders/index.js";
import { LocalIdentities, localProxyDir } from "../../../infra/local/identities.js";
import { workloadIdentity } from "../../../infra/model.js";
import { type PairTls, answeringEnvoy, bareEnvoyPair } from "../bare-envoy.js";
import { ENVOY_FEATURES, withoutFeature } from "../envoy-features.js";
import { interleave, type VariantRounds } from "../interleave.js";
import { closedLoopHttp, keepAliveAgent, openLoop, type HttpLoadResult, type OpenLoopResult } from "../load.js";
import { get, get2, type Json } from "../common.js";
import { difference, ratio, round, spread, summarize } from "../stats.js";

/**
 * Rounds of the maximum-throughput comparison, at least: pair/bare is reported as the median and range of
 * the per-round ratios, and runs had moved it by 0.2 between them, so a single figure could not tell a
 * change of 0.1 from noise.
 */
export const MIN_HOP_ROUNDS = 8;
import { renderTable, type Cell } from "../table.js";

export interface HopOptions {
  readonly envoy: string;
  readonly stateDir: string;
  readonly zipkin: HostPort;
  readonly samplingPercent: number;
  readonly rates: readonly number[];
  readonly connections: number;
  readonly durationS: number;
  readonly rounds: number;
  readonly log: (message: string) => void;
}

/** What the upstream answers: the size of a catalog product. */
const PRODUCT_JSON = JSON.stringify({ id: "6f1b0c1e-2b0a-4c1e-9e55-0a4f1c2d3e4f", sku: "bench-1", name: "Benchmark product", priceCents: 1234 });
const PATH = "/api/products/6f1b0c1e-2b0a-4c1e-9e55-0a4f1c2d3e4f";

interface Pair {
  readonly name: string;
  /** The bare pair this one's CPU is set against: the plain one, or the one with the same mutual TLS. */
  readonly floor: string;
  /** Whether its hop runs mutual TLS (its handshakes are counted). */
  readonly mtls: boolean;
  /** Where clients send: the pair's first Envoy (or the upstream itself for "direct"). */
  readonly url: string;
  /** Process names of the pair's Envoys: [front, back]. */
  readonly envoys: readonly string[];
  readonly configs: ReadonlyArray<{ name: string; config: EnvoyObject; admin: HostPort }>;
  /** Where this pair's back Envoy expects the upstream. */
  readonly upstreamAt: HostPort;
}

/**
 * The local runner's addressing for one pair, with IP literals instead of DNS names (no
 * dnsmasq runs for the pairs) and Zipkin where the bench mesh runs it.
 */
function pairAddressing(layout: LocalLayout, zipkin: HostPort, identityRoot: string | undefined): Addressing {
  return { ...localAddressing(layout, () => "127.0.0.1", identityRoot), serviceHost: (service) => layout.servicePod(service, 0), zipkin, dnsResolver: undefined };
}

const BARE = "bare pair";
const BARE_MTLS = "bare mutual-TLS pair";

/** Identity directories for a pair's edge and catalog sidecar, from a CA of the pair's own, under `root`. */
function pairIdentities(root: string): void {
  const identities = new LocalIdentities(root, buildMeshModel());
  identities.write(EDGE_PROXY, 0);
  identities.write(sidecarName("catalog"), 0);
}

function meshPair(name: string, options: HopOptions, change: (config: EnvoyObject) => EnvoyObject = (c) => c, mtls = false): Pair {
  const layout = new LocalLayout(randomBlockPrefix());
  const model = buildMeshModel({}, { traceSamplingPercent: options.samplingPercent });
  const slug = name.replace(/[^a-z0-9]+/gi, "-");
  const identityRoot = mtls ? join(options.stateDir, "identity", slug) : undefined;
  if (identityRoot !== undefined) pairIdentities(identityRoot);
  const addressing = pairAddressing(layout, options.zipkin, identityRoot);
  const sidecar = sidecarName("catalog");
  const admin = (proxy: string) => addressing.binding(proxy, 0).admin;
  return {
    name,
    floor: mtls ? BARE_MTLS : BARE,
    mtls,
    url: `http://${layout.edge}:${PORTS.edgeHttp}${PATH}`,
    envoys: [`${slug}-edge`, `${slug}-sidecar`],
    configs: [
      { name: `${slug}-edge`, config: change(proxyBootstrap(model, EDGE_PROXY, addressing)), admin: admin(EDGE_PROXY) },
      { name: `${slug}-sidecar`, config: change(proxyBootstrap(model, sidecar, addressing)), admin: admin(sidecar) },
    ],
    upstreamAt: { address: layout.servicePod("catalog", 0), port: PORTS.app },
  };
}

/** `identityRoot`: the hop runs the mesh's mutual TLS, with identities from a CA of the pair's own. */
function barePair(options: HopOptions, mtls: boolean): Pair {
  const layout = new LocalLayout(randomBlockPrefix());
  const front = { listen: { address: layout.edge, port: PORTS.edgeHttp }, admin: { address: layout.edge, port: PORTS.envoyAdmin } };
  const pod = layout.servicePod("catalog", 0);
  const back = { listen: { address: pod, port: PORTS.sidecarIngress }, admin: { address: pod, port: PORTS.envoyAdmin } };
  const upstreamAt = { address: pod, port: PORTS.app };
  const name = mtls ? BARE_MTLS : BARE;
  const prefix = mtls ? "bare-mtls" : "bare";
  let tls: PairTls | undefined;
  if (mtls) {
    const root = join(options.stateDir, "identity", prefix);
    pairIdentities(root);
    tls = {
      client: meshClientTls(localProxyDir(root, EDGE_PROXY, 0), workloadIdentity(buildMeshModel(), "catalog")),
      server: meshServerTls(localProxyDir(root, sidecarName("catalog"), 0)),
    };
  }
  const { front: frontConfig, back: backConfig } = bareEnvoyPair(front, back, upstreamAt, tls);
  return {
    name,
    floor: name,
    mtls,
    url: `http://${front.listen.address}:${front.listen.port}${PATH}`,
    envoys: [`${prefix}-front`, `${prefix}-back`],
    configs: [
      { name: `${prefix}-front`, config: frontConfig, admin: front.admin },
      { name: `${prefix}-back`, config: backConfig, admin: back.admin },
    ],
    upstreamAt,
  };
}

export async function hopCosts(options: HopOptions) {
  const pairs = [
    barePair(options, false),
    barePair(options, true),
    meshPair(`mesh pair (tracing ${options.samplingPercent} %)`, options),
    meshPair(`mesh mutual-TLS pair (tracing ${options.samplingPercent} %)`, options, undefined, true),
    ...ENVOY_FEATURES.map((feature) => meshPair(`mesh pair, no ${feature}`, options, (c) => withoutFeature(c, feature))),
  ];
  const upstreamAdmin = { address: "127.0.0.1", port: 0 };
  const directAt = pairs[0]!.upstreamAt;
  const configDir = join(options.stateDir, "configs");
  const logDir = join(options.stateDir, "logs");
  mkdirSync(configDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor(logDir, (exit) => options.log(`${exit.name} exited unexpectedly (code ${exit.code}); see ${logDir}`));
  const start = (name: string, config: EnvoyObject) => {
    const file = join(configDir, `${name}.yaml`);
    writeFileSync(file, envoyYaml(config));
    return supervisor.start({ name, command: options.envoy, args: ["-c", file, "--disable-hot-restart", "--concurrency", "1", "--log-level", "warning"], graceMs: 5000 });
  };
  try {
    options.log(`hops: starting ${pairs.length} Envoy pairs and the answering upstream`);
    const upstream = start("upstream", answeringEnvoy(pairs.map((p) => p.upstreamAt), upstreamAdmin, PRODUCT_JSON));
    for (const pair of pairs) for (const { name, config } of pair.configs) start(name, config);
    const direct = { name: "direct", url: `http://${directAt.address}:${directAt.port}${PATH}` };
    const targets = [direct, ...pairs];
    for (const target of targets) {
      // The edge routes only once its active health check through the sidecar passed.
      await waitUntil(`${target.name} to answer`, () => httpOk(target.url), { process: upstream, timeoutMs: 60_000 });
    }
    const pids = Object.fromEntries([["upstream", upstream.pid], ...pairs.flatMap((p) => p.envoys.map((n) => [n, supervisor.get(n).pid])), ["bench (load generator)", process.pid]]);
    const slice = (options.durationS * 1000) / options.rounds;
    const maxRounds = Math.max(options.rounds, MIN_HOP_ROUNDS);
    for (const target of targets) await closedLoopHttp({ url: target.url, connections: 4, durationMs: 1000 });

    options.log(`hops: maximum throughput, ${options.connections} connections, ${targets.length} variants interleaved`);
    const max = await interleave<HttpLoadResult>(
      targets.map((t) => ({ name: t.name, run: () => closedLoopHttp({ url: t.url, connections: options.connections, durationMs: (options.durationS * 1000) / maxRounds }) })),
      maxRounds,
      pids,
    );
    const fixedRate = [];
    for (const rate of options.rates) {
      options.log(`hops: ${rate} req/s open loop`);
      const agents = Object.fromEntries(targets.map((t) => [t.name, keepAliveAgent()]));
      const rounds = await interleave<OpenLoopResult>(
        targets.map((t) => ({ name: t.name, run: () => openLoop({ url: t.url, rate, durationMs: slice, agent: agents[t.name]! }) })),
        options.rounds,
        pids,
      );
      Object.values(agents).forEach((a) => a.destroy());
      fixedRate.push({ rate, ...latencies(rounds, targets.map((t) => t.name)) });
    }
    const handshakes = await handshakeFigures(pairs);
    return { upstream: "an Envoy answering a 100-byte product JSON itself", samplingPercent: options.samplingPercent, maxThroughput: maxFigures(max, pairs), fixedRate, handshakes };
  } finally {
    await supervisor.stopAll();
  }
}

/** Per pair: throughput, and CPU per request of its two Envoys, each and together, against the bare pair's. */
function maxFigures(rounds: Record<string, VariantRounds<HttpLoadResult>>, pairs: readonly Pair[]) {
  const ok = (name: string) => rounds[name]!.results.reduce((a, r) => a + r.ok, 0);
  const seconds = (name: string) => rounds[name]!.results.reduce((a, r) => a + r.elapsedSeconds, 0);
  const cpuUsPerRequest = (variant: string, process: string) => ((rounds[variant]!.usage[process]?.cpuSeconds ?? Number.NaN) * 1e6) / ok(variant);
  const pairCpu = (pair: Pair) => pair.envoys.reduce((a, n) => a + cpuUsPerRequest(pair.name, n), 0);
  const floorOf = (pair: Pair) => pairs.find((p) => p.name === pair.floor)!;
  /** The pair's CPU per request over its bare pair's, in each round (rounds run in the same order for every variant). */
  const perRound = (pair: Pair) => {
    const bare = floorOf(pair);
    const inRound = (p: Pair, i: number) => p.envoys.reduce((a, n) => a + (rounds[p.name]!.roundUsage[i]?.[n]?.cpuSeconds ?? Number.NaN), 0) / rounds[p.name]!.results[i]!.ok;
    return rounds[pair.name]!.results.map((_, i) => inRound(pair, i) / inRound(bare, i)).filter(Number.isFinite);
  };
  return {
    direct: { throughput: round(ok("direct") / seconds("direct"), 1) },
    pairs: Object.fromEntries(
      pairs.map((pair) => [
        pair.name,
        {
          throughput: round(ok(pair.name) / seconds(pair.name), 1),
          errors: rounds[pair.name]!.results.reduce((a, r) => a + r.errors, 0),
          cpuUsPerRequest: { front: round(cpuUsPerRequest(pair.name, pair.envoys[0]!), 1), back: round(cpuUsPerRequest(pair.name, pair.envoys[1]!), 1), pair: round(pairCpu(pair), 1) },
          versus: pair.floor,
          cpuPerRequestVsBarePair: round(ratio(pairCpu(pair), pairCpu(floorOf(pair))), 2),
          cpuPerRequestVsBarePairOverRounds: (({ median, min, max }) => ({ median: round(median, 2), min: round(min, 2), max: round(max, 2), rounds: perRound(pair).length }))(spread(perRound(pair))),
          throughputVsDirect: round(ratio(ok(pair.name) / seconds(pair.name), ok("direct") / seconds("direct")), 3),
        },
      ]),
    ),
  };
}

/** Sum of the counters of an Envoy's admin whose names match `pattern` (a regex Envoy applies). */
async function counterSum(admin: HostPort, pattern: string): Promise<number> {
  const res = await fetch(`http://${admin.address}:${admin.port}/stats?filter=${encodeURIComponent(pattern)}`, { signal: AbortSignal.timeout(5000) });
  return (await res.text())
    .split("\n")
    .map((line) => Number(/: (\d+)$/.exec(line)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
}

/**
 * TLS handshakes per 1000 requests at each mutual-TLS pair's back Envoy, over the whole
 * section (warm-up, maximum, every rate): connections are pooled and reused, so at a
 * steady load there should be next to none.
 */
async function handshakeFigures(pairs: readonly Pair[]) {
  const figures: Record<string, { handshakes: number; requests: number; per1000Requests: number | null }> = {};
  for (const pair of pairs.filter((p) => p.mtls)) {
    const back = pair.configs[1]!.admin;
    const handshakes = await counterSum(back, "^listener\\..*\\.ssl\\.handshake$");
    const requests = await counterSum(back, "^http\\.(ingress_http|bare_back)\\.downstream_rq_total$");
    figures[pair.name] = { handshakes, requests, per1000Requests: round((handshakes * 1000) / requests, 3) };
  }
  return figures;
}

/** p50/p99 of each variant and what the two hops add to going direct. */
function latencies(rounds: Record<string, VariantRounds<OpenLoopResult>>, names: readonly string[]) {
  const summary = Object.fromEntries(
    names.map((name) => {
      const r = rounds[name]!.results;
      const s = summarize(r.flatMap((x) => x.latenciesMs));
      return [name, { p50: s.p50, p99: s.p99, errors: r.reduce((a, x) => a + x.errors, 0), sentRate: r.reduce((a, x) => a + x.sentRate, 0) / r.length }];
    }),
  );
  const direct = summary.direct!;
  const loopDelays = names.flatMap((name) => rounds[name]!.results.map((x) => x.loopDelayP99Ms)).sort((a, b) => a - b);
  return {
    /** The load generator's event-loop delay p99, median over every round of every variant. */
    generatorLoopDelayP99: round(loopDelays[loopDelays.length >> 1] ?? Number.NaN, 3),
    variants: Object.fromEntries(
      Object.entries(summary).map(([name, s]) => [
        name,
        { p50: round(s.p50, 3), p99: round(s.p99, 3), addedP50: round(difference(s.p50, direct.p50), 3), addedP99: round(difference(s.p99, direct.p99), 3), errors: s.errors, sentRate: round(s.sentRate, 1) },
      ]),
    ),
  };
}

export function printHops(hops: Json): void {
  console.log(`\n1b. Two Envoy hops against their floor (upstream: ${hops.upstream}); maximum throughput, CPU µs per request`);
  const mt = hops.maxThroughput as Json;
  const rows: Cell[][] = Object.entries(get2(mt, "pairs")).map(([name, f]) => [
    name, get(f, "throughput"), get(f, "throughputVsDirect"), get(f, "cpuUsPerRequest", "front"), get(f, "cpuUsPerRequest", "back"), get(f, "cpuUsPerRequest", "pair"), get(f, "cpuPerRequestVsBarePair"),
    `${get(f, "cpuPerRequestVsBarePairOverRounds", "median")} [${get(f, "cpuPerRequestVsBarePairOverRounds", "min")}–${get(f, "cpuPerRequestVsBarePairOverRounds", "max")}]`, get(f, "errors"),
  ]);
  console.log(`direct to the upstream: ${get(mt, "direct", "throughput")} req/s`);
  console.log(renderTable(["pair", "req/s", "vs direct", "CPU front", "CPU back", "CPU pair", "pair/bare", "per round: median [range]", "errors"], rows));
  console.log("Added by the two hops (ms, open loop, vs direct to the upstream)");
  const latencyRows: Cell[][] = [];
  for (const r of hops.fixedRate as Json[]) {
    for (const [name, v] of Object.entries(get2(r, "variants"))) if (name !== "direct") latencyRows.push([get(r, "rate"), name, get(v, "p50"), get(v, "addedP50"), get(v, "p99"), get(v, "addedP99"), get(v, "errors")]);
  }
  console.log(renderTable(["rate", "pair", "p50", "+p50", "p99", "+p99", "errors"], latencyRows));
  const handshakeRows: Cell[][] = Object.entries((hops.handshakes ?? {}) as Json).map(([name, h]) => [name, get(h, "handshakes"), get(h, "requests"), get(h, "per1000Requests")]);
  if (handshakeRows.length > 0) {
    console.log("TLS handshakes at the back Envoy of each mutual-TLS pair, over the whole section");
    console.log(renderTable(["pair", "handshakes", "requests", "per 1000 requests"], handshakeRows));
  }
  const floors = (hops.fixedRate as Json[]).map((r) => `${get(r, "rate")} req/s: direct p99 ${get(r, "variants", "direct", "p99")} ms, generator loop delay p99 ${get(r, "generatorLoopDelayP99")} ms`);
  console.log(`The measurement's own floor (every latency above includes both): ${floors.join("; ")}`);
}
