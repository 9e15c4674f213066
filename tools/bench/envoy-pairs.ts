// Pairs of Envoys measured side by side, what the hop and dynamic-resource sections
// share. Every pair forwards the same GET to one stand-in upstream (an Envoy answering a
// product-sized JSON itself, so no app work is measured), each pair on its own loopback
// block, all running at once and measured in interleaved rounds. Reported per pair: CPU
// per request (µs) of its front Envoy and of those behind it, the pair's CPU against its
// floor's (another pair of the same run), maximum throughput, and p50/p99 added by the
// hops at each fixed rate.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { envoyYaml, proxyConfig, type EnvoyObject } from "../../envoy-templates/index.js";
import type { Addressing, HostPort } from "../../infra/addressing.js";
import { localAddressing } from "../../infra/local/addressing.js";
import { upstreamHosts, waitForVersions } from "../../infra/local/envoy.js";
import { LocalIdentities } from "../../infra/local/identities.js";
import { LocalLayout, randomBlockPrefix } from "../../infra/local/layout.js";
import { httpOk, waitUntil } from "../../infra/local/readiness.js";
import { Supervisor } from "../../infra/local/supervisor.js";
import { writeSwappedDir } from "../../infra/local/swapped-dir.js";
import { EDGE_PROXY, PORTS, buildMeshModel, sidecarName } from "../../infra/model.js";
import { type Release, type TrafficPolicy, releasesOf } from "../../infra/traffic.js";
import { answeringEnvoy } from "./bare-envoy.js";
import { LOAD_GENERATOR } from "./common.js";
import { interleave, type VariantRounds } from "./interleave.js";
import { closedLoopHttp, keepAliveAgent, openLoop, type HttpLoadResult, type OpenLoopResult } from "./load.js";
import { difference, ratio, round, spread, summarize } from "./stats.js";
import { renderTable, type Cell } from "./table.js";

/**
 * Rounds of the maximum-throughput comparison, at least: a pair's ratio to its floor is reported
 * as the median and range of the per-round ratios, and runs had moved it by 0.2 between them,
 * so a single figure could not tell a change of 0.1 from noise.
 */
export const MIN_HOP_ROUNDS = 8;

/** The catalog's public route as the model has it: what every pair forwards. */
export const CATALOG_ROUTE = buildMeshModel().services.find((s) => s.name === "catalog")!.routes[0]!.prefix;
/** What every client asks for. */
export const PRODUCT_PATH = `${CATALOG_ROUTE}/6f1b0c1e-2b0a-4c1e-9e55-0a4f1c2d3e4f`;
/** What the upstream answers: the size of a catalog product. */
const PRODUCT_JSON = JSON.stringify({ id: "6f1b0c1e-2b0a-4c1e-9e55-0a4f1c2d3e4f", sku: "bench-1", name: "Benchmark product", priceCents: 1234 });
export const UPSTREAM = "an Envoy answering a 100-byte product JSON itself";

export interface PairEnvoy {
  /** Process name. */
  readonly name: string;
  readonly config: EnvoyObject;
  readonly admin: HostPort;
  /** Its dynamic directory, the files to write there (name → YAML) before it starts, and their versions, which it reports once applied. */
  readonly dynamic?: { readonly dir: string; readonly files: Readonly<Record<string, string>>; readonly versions: readonly string[] };
}

export interface Pair {
  readonly name: string;
  /** The pair this one's CPU is set against (itself for a floor). */
  readonly floor: string;
  /** Whether its hop runs mutual TLS (the hop section counts its handshakes). */
  readonly mtls: boolean;
  /** Where clients send: the pair's first Envoy. */
  readonly url: string;
  /** The front Envoy first, then those behind it: a sidecar, or a stable and a canary one. */
  readonly envoys: readonly PairEnvoy[];
  /** Where the front Envoy reaches those behind it: it must see each of them healthy before measuring. */
  readonly backAt: readonly HostPort[];
  /** Where the back Envoys expect the upstream. */
  readonly upstreamAt: readonly HostPort[];
}

/** What a section of pairs needs from the command line and the bench mesh. */
export interface PairSectionOptions {
  readonly envoy: string;
  readonly stateDir: string;
  /** The bench mesh's Zipkin, where the mesh pairs send their spans. */
  readonly zipkin: HostPort;
  readonly samplingPercent: number;
  readonly rates: readonly number[];
  readonly connections: number;
  readonly durationS: number;
  readonly rounds: number;
  readonly log: (message: string) => void;
}

/**
 * The local runner's addressing for one pair, with IP literals instead of DNS names (no
 * dnsmasq runs for the pairs) and Zipkin where the bench mesh runs it.
 */
function pairAddressing(layout: LocalLayout, zipkin: HostPort, identityRoot: string | undefined, dynamicRoot: string | undefined): Addressing {
  return {
    ...localAddressing(layout, () => "127.0.0.1", identityRoot, dynamicRoot),
    serviceHost: (service, release) => layout.servicePod(service, 0, release),
    zipkin,
    dnsResolver: undefined,
  };
}

/** Identity directories for the edge and every catalog sidecar of `releases`, from a CA of the pair's own, under `root`. */
export function pairIdentities(root: string, releases: readonly Release[] = ["stable"]): void {
  const identities = new LocalIdentities(root, buildMeshModel());
  identities.write(EDGE_PROXY, 0);
  for (const release of releases) identities.write(sidecarName("catalog"), 0, new Date(), release);
}

export interface MeshPairVariant {
  /** Edits each generated bootstrap (the hop section's feature switches); dynamic routes and clusters are not in it. */
  readonly change?: (config: EnvoyObject) => EnvoyObject;
  /** The hop runs the mesh's mutual TLS, with identities from a CA of the pair's own. */
  readonly mtls?: boolean;
  /** Routes and service clusters as dynamic resources from files, as the local runner runs them. */
  readonly dynamic?: boolean;
  /** Canaries and rate limits; a catalog canary adds its sidecar behind the edge. */
  readonly traffic?: TrafficPolicy;
}

/** The mesh's own edge and catalog sidecar(s) as the local runner generates them, tracing `samplingPercent` %. */
export function meshPair(name: string, floor: string, options: PairSectionOptions, variant: MeshPairVariant = {}): Pair {
  const { change = (c: EnvoyObject) => c, mtls = false, dynamic = false } = variant;
  const layout = new LocalLayout(randomBlockPrefix());
  const model = buildMeshModel({}, { traceSamplingPercent: options.samplingPercent, ...(variant.traffic ? { traffic: variant.traffic } : {}) });
  const releases = releasesOf(model.traffic, "catalog");
  const slug = name.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "");
  const identityRoot = mtls ? join(options.stateDir, "identity", slug) : undefined;
  if (identityRoot !== undefined) pairIdentities(identityRoot, releases);
  const addressing = pairAddressing(layout, options.zipkin, identityRoot, dynamic ? join(options.stateDir, "dynamic", slug) : undefined);
  const envoy = (processName: string, proxy: string, release: Release): PairEnvoy => {
    // proxyConfig: what the runner deploys, routes and clusters moved to files where the binding has a dynamic directory.
    const { bootstrap, dynamicFiles } = proxyConfig(model, proxy, addressing, 0, release);
    const { admin, dynamicDir } = addressing.binding(proxy, 0, release);
    const files = Object.fromEntries(Object.entries(dynamicFiles).map(([file, response]) => [file, envoyYaml(response)]));
    const versions = Object.values(dynamicFiles).map((response) => String(response.version_info));
    return { name: processName, config: change(bootstrap), admin, ...(dynamicDir !== undefined ? { dynamic: { dir: dynamicDir, files, versions } } : {}) };
  };
  const sidecar = sidecarName("catalog");
  return {
    name,
    floor,
    mtls,
    url: `http://${layout.edge}:${PORTS.edgeHttp}${PRODUCT_PATH}`,
    envoys: [envoy(`${slug}-edge`, EDGE_PROXY, "stable"), ...releases.map((r) => envoy(r === "stable" ? `${slug}-sidecar` : `${slug}-sidecar-${r}`, sidecar, r))],
    backAt: releases.map((r) => ({ address: layout.servicePod("catalog", 0, r), port: PORTS.sidecarIngress })),
    upstreamAt: releases.map((r) => ({ address: layout.servicePod("catalog", 0, r), port: PORTS.app })),
  };
}

/** True when the front Envoy has a host at each of `backAt`, all healthy (a host waits for its first active health check). */
async function backHealthy(front: HostPort, backAt: readonly HostPort[]): Promise<boolean> {
  const hosts = await upstreamHosts(`http://${front.address}:${front.port}`);
  return backAt.every((at) => hosts.get(`${at.address}:${at.port}`) === "healthy");
}

/**
 * Starts the upstream and every pair, measures them all (maximum throughput in at least
 * MIN_HOP_ROUNDS interleaved rounds, then each fixed rate), runs `inspect` while they
 * still run (to read their admin stats), and stops them.
 */
export async function measurePairs<T>(section: string, pairs: readonly Pair[], options: PairSectionOptions, inspect: () => Promise<T>) {
  const configDir = join(options.stateDir, "configs");
  const logDir = join(options.stateDir, "logs");
  mkdirSync(configDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor(logDir, (exit) => options.log(`${exit.name} exited unexpectedly (code ${exit.code}); see ${logDir}`));
  const start = ({ name, config, dynamic }: Omit<PairEnvoy, "admin">) => {
    if (dynamic) writeSwappedDir(dynamic.dir, dynamic.files);
    const file = join(configDir, `${name}.yaml`);
    writeFileSync(file, envoyYaml(config));
    return supervisor.start({ name, command: options.envoy, args: ["-c", file, "--disable-hot-restart", "--concurrency", "1", "--log-level", "warning"], graceMs: 5000 });
  };
  try {
    options.log(`${section}: starting ${pairs.length} Envoy pairs and the answering upstream`);
    const directAt = pairs[0]!.upstreamAt[0]!;
    const upstream = start({ name: "upstream", config: answeringEnvoy(pairs.flatMap((p) => p.upstreamAt), { address: "127.0.0.1", port: 0 }, PRODUCT_JSON) });
    for (const pair of pairs) for (const envoy of pair.envoys) start(envoy);
    const direct = { name: "direct", url: `http://${directAt.address}:${directAt.port}${PRODUCT_PATH}` };
    for (const { name, admin, dynamic } of pairs.flatMap((p) => p.envoys)) {
      // Measured only once it reports its files' versions: it runs what they hold.
      if (dynamic) await waitForVersions(`http://${admin.address}:${admin.port}`, dynamic.versions, name);
    }
    for (const pair of pairs) {
      // The edge routes to a sidecar, a canary's too, only once its active health check
      // through it passed (no panic routing).
      await waitUntil(`${pair.name} to see its back Envoys healthy`, () => backHealthy(pair.envoys[0]!.admin, pair.backAt), { process: upstream, timeoutMs: 60_000 });
    }
    const targets = [direct, ...pairs];
    for (const target of targets) await waitUntil(`${target.name} to answer`, () => httpOk(target.url), { process: upstream, timeoutMs: 60_000 });
    const pids = Object.fromEntries([["upstream", upstream.pid], ...pairs.flatMap((p) => p.envoys.map((e) => [e.name, supervisor.get(e.name).pid])), [LOAD_GENERATOR, process.pid]]);
    for (const target of targets) await closedLoopHttp({ url: target.url, connections: 4, durationMs: 1000 });

    const maxRounds = Math.max(options.rounds, MIN_HOP_ROUNDS);
    options.log(`${section}: maximum throughput, ${options.connections} connections, ${targets.length} variants interleaved in ${maxRounds} rounds`);
    const max = await interleave<HttpLoadResult>(
      targets.map((t) => ({ name: t.name, run: () => closedLoopHttp({ url: t.url, connections: options.connections, durationMs: (options.durationS * 1000) / maxRounds }) })),
      maxRounds,
      pids,
    );
    const fixedRate = [];
    for (const rate of options.rates) {
      options.log(`${section}: ${rate} req/s open loop`);
      const agents = Object.fromEntries(targets.map((t) => [t.name, keepAliveAgent()]));
      const rounds = await interleave<OpenLoopResult>(
        targets.map((t) => ({ name: t.name, run: () => openLoop({ url: t.url, rate, durationMs: (options.durationS * 1000) / options.rounds, agent: agents[t.name]! }) })),
        options.rounds,
        pids,
      );
      Object.values(agents).forEach((a) => a.destroy());
      fixedRate.push({ rate, ...latencies(rounds, targets.map((t) => t.name)) });
    }
    return { maxThroughput: maxFigures(max, pairs), fixedRate, inspected: await inspect() };
  } finally {
    await supervisor.stopAll();
  }
}

/** What the figures need of a pair: its name, its floor's, and its Envoys' process names (the front one first). */
export interface MeasuredPair {
  readonly name: string;
  readonly floor: string;
  readonly envoys: readonly { readonly name: string }[];
}

/** Per pair: throughput, and CPU per request of its front Envoy, of those behind it and of all, against its floor's. */
export function maxFigures(rounds: Readonly<Record<string, VariantRounds<HttpLoadResult>>>, pairs: readonly MeasuredPair[]) {
  const ok = (name: string) => rounds[name]!.results.reduce((a, r) => a + r.ok, 0);
  const seconds = (name: string) => rounds[name]!.results.reduce((a, r) => a + r.elapsedSeconds, 0);
  const cpuUs = (variant: string, envoys: readonly { name: string }[]) => (envoys.reduce((a, e) => a + (rounds[variant]!.usage[e.name]?.cpuSeconds ?? Number.NaN), 0) * 1e6) / ok(variant);
  const pairCpu = (pair: MeasuredPair) => cpuUs(pair.name, pair.envoys);
  const floorOf = (pair: MeasuredPair) => pairs.find((p) => p.name === pair.floor)!;
  /** The pair's CPU per request over its floor's, in each round (rounds run in the same order for every variant). */
  const perRound = (pair: MeasuredPair) => {
    const floor = floorOf(pair);
    const inRound = (p: MeasuredPair, i: number) => p.envoys.reduce((a, e) => a + (rounds[p.name]!.roundUsage[i]?.[e.name]?.cpuSeconds ?? Number.NaN), 0) / rounds[p.name]!.results[i]!.ok;
    return rounds[pair.name]!.results.map((_, i) => inRound(pair, i) / inRound(floor, i)).filter(Number.isFinite);
  };
  const throughput = (name: string) => ok(name) / seconds(name);
  return {
    direct: { throughput: round(throughput("direct"), 1) },
    pairs: Object.fromEntries(
      pairs.map((pair) => {
        const overRounds = perRound(pair);
        const { median, min, max } = spread(overRounds);
        return [
          pair.name,
          {
            throughput: round(throughput(pair.name), 1),
            errors: rounds[pair.name]!.results.reduce((a, r) => a + r.errors, 0),
            cpuUsPerRequest: { front: round(cpuUs(pair.name, pair.envoys.slice(0, 1)), 1), back: round(cpuUs(pair.name, pair.envoys.slice(1)), 1), pair: round(pairCpu(pair), 1) },
            versus: pair.floor,
            cpuPerRequestVsFloor: round(ratio(pairCpu(pair), pairCpu(floorOf(pair))), 3),
            cpuPerRequestVsFloorOverRounds: { median: round(median, 3), min: round(min, 3), max: round(max, 3), rounds: overRounds.length },
            throughputVsDirect: round(ratio(throughput(pair.name), throughput("direct")), 3),
          },
        ];
      }),
    ),
  };
}

/** Sum of the counters in an Envoy admin's `/stats` text (lines `name: value`). */
export function sumCounters(statsText: string): number {
  return statsText
    .split("\n")
    .map((line) => Number(/: (\d+)$/.exec(line)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
}

/** Sum of the counters of an Envoy's admin whose names match `pattern` (a regex Envoy applies). */
export async function counterSum(admin: HostPort, pattern: string): Promise<number> {
  const res = await fetch(`http://${admin.address}:${admin.port}/stats?filter=${encodeURIComponent(pattern)}`, { signal: AbortSignal.timeout(5000) });
  return sumCounters(await res.text());
}

/** p50/p99 of each variant and what the hops add to going direct. */
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

/** What measurePairs reports of the pairs, without what the section's own `inspect` read. */
export type PairFigures = Omit<Awaited<ReturnType<typeof measurePairs>>, "inspected">;

/** The maximum-throughput table (`ratioHeader` names the floor), the fixed-rate latencies, and the measurement's own floor. */
export function printPairFigures(figures: PairFigures, ratioHeader: string): void {
  const mt = figures.maxThroughput;
  const rows: Cell[][] = Object.entries(mt.pairs).map(([name, f]) => [
    name, f.throughput, f.throughputVsDirect, f.cpuUsPerRequest.front, f.cpuUsPerRequest.back, f.cpuUsPerRequest.pair, f.cpuPerRequestVsFloor,
    `${f.cpuPerRequestVsFloorOverRounds.median} [${f.cpuPerRequestVsFloorOverRounds.min}–${f.cpuPerRequestVsFloorOverRounds.max}]`, f.errors,
  ]);
  console.log(`direct to the upstream: ${mt.direct.throughput} req/s`);
  console.log(renderTable(["pair", "req/s", "vs direct", "CPU front", "CPU back", "CPU pair", ratioHeader, "per round: median [range]", "errors"], rows));
  console.log("Added by the hops (ms, open loop, vs direct to the upstream)");
  const latencyRows: Cell[][] = [];
  for (const r of figures.fixedRate) {
    for (const [name, v] of Object.entries(r.variants)) if (name !== "direct") latencyRows.push([r.rate, name, v.p50, v.addedP50, v.p99, v.addedP99, v.errors]);
  }
  console.log(renderTable(["rate", "pair", "p50", "+p50", "p99", "+p99", "errors"], latencyRows));
  const floors = figures.fixedRate.map((r) => `${r.rate} req/s: direct p99 ${r.variants.direct!.p99} ms, generator loop delay p99 ${r.generatorLoopDelayP99} ms`);
  console.log(`The measurement's own floor (every latency above includes both): ${floors.join("; ")}`);
}
