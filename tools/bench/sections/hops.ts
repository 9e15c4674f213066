// Two Envoy hops against their floor (envoy-pairs.ts runs and measures the pairs):
//   - direct: straight to the upstream (the base for added latency);
//   - bare pair: the floor any Envoy mesh can reach here (bare-envoy.ts), the same with the
//     mesh's mutual TLS between its Envoys, and the same with the mesh's tracing (its
//     tracer and sampling, nothing else of the mesh): the floor for a traced hop;
//   - mesh pair: the mesh's own edge and catalog sidecar, as generated, tracing
//     `samplingPercent` % (spans go to the bench mesh's Zipkin), plaintext and with mutual TLS;
//   - the mesh pair with one feature off, for each feature (envoy-features.ts), and with all of them off.
// Each mesh pair is set against the bare pair with the same TLS.
import { join } from "node:path";
import { meshClientTls, meshServerTls } from "../../../envoy-templates/builders/index.js";
import { localProxyDir } from "../../../infra/local/identities.js";
import { LocalLayout, randomBlockPrefix } from "../../../infra/local/layout.js";
import { EDGE_PROXY, PORTS, buildMeshModel, sidecarName, workloadIdentity } from "../../../infra/model.js";
import { type PairTls, bareEnvoyPair } from "../bare-envoy.js";
import { ENVOY_FEATURES, withTracingOf, withoutFeature } from "../envoy-features.js";
import { type Pair, type PairSectionOptions, UPSTREAM, counterSum, measurePairs, meshPair, pairIdentities, printPairFigures, PRODUCT_PATH } from "../envoy-pairs.js";
import { round } from "../stats.js";
import { renderTable, type Cell } from "../table.js";

const BARE = "bare pair";
const BARE_MTLS = "bare mutual-TLS pair";

/**
 * The bare pair, plaintext or with the mesh's mutual TLS (identities from a CA of its own);
 * `tracedLike`: with the tracing of this mesh pair's Envoys (front as its edge, back as its sidecar).
 */
function barePair(options: PairSectionOptions, mtls: boolean, tracedLike?: Pair): Pair {
  const layout = new LocalLayout(randomBlockPrefix());
  const front = { listen: { address: layout.edge, port: PORTS.edgeHttp }, admin: { address: layout.edge, port: PORTS.envoyAdmin } };
  const pod = layout.servicePod("catalog", 0);
  const back = { listen: { address: pod, port: PORTS.sidecarIngress }, admin: { address: pod, port: PORTS.envoyAdmin } };
  const upstreamAt = { address: pod, port: PORTS.app };
  const name = tracedLike ? `bare pair, ${tracingOf(options)}` : mtls ? BARE_MTLS : BARE;
  const prefix = tracedLike ? "bare-traced" : mtls ? "bare-mtls" : "bare";
  let tls: PairTls | undefined;
  if (mtls) {
    const root = join(options.stateDir, "identity", prefix);
    pairIdentities(root);
    tls = {
      client: meshClientTls(localProxyDir(root, EDGE_PROXY, 0), workloadIdentity(buildMeshModel(), "catalog")),
      server: meshServerTls(localProxyDir(root, sidecarName("catalog"), 0)),
    };
  }
  const bare = bareEnvoyPair(front, back, upstreamAt, tls);
  const [frontConfig, backConfig] = tracedLike
    ? [withTracingOf(bare.front, tracedLike.envoys[0]!.config), withTracingOf(bare.back, tracedLike.envoys[1]!.config)]
    : [bare.front, bare.back];
  return {
    name,
    // A traced bare pair is set against the plain one: what tracing alone costs.
    floor: tracedLike ? BARE : name,
    mtls,
    url: `http://${front.listen.address}:${front.listen.port}${PRODUCT_PATH}`,
    envoys: [
      { name: `${prefix}-front`, config: frontConfig, admin: front.admin },
      { name: `${prefix}-back`, config: backConfig, admin: back.admin },
    ],
    backAt: [back.listen],
    upstreamAt: [upstreamAt],
  };
}

const tracingOf = (options: PairSectionOptions) => `tracing ${options.samplingPercent} %`;

export async function hopCosts(options: PairSectionOptions) {
  const sampling = tracingOf(options);
  const mesh = meshPair(`mesh pair (${sampling})`, BARE, options);
  const pairs = [
    barePair(options, false),
    barePair(options, true),
    barePair(options, false, mesh),
    mesh,
    meshPair(`mesh mutual-TLS pair (${sampling})`, BARE_MTLS, options, { mtls: true }),
    ...ENVOY_FEATURES.map((feature) => meshPair(`mesh pair, no ${feature}`, BARE, options, { change: (c) => withoutFeature(c, feature) })),
    // All of them off at once: what is left is the mesh's routing itself (matches, rewrites, timeouts, request ids).
    meshPair("mesh pair, none of these features", BARE, options, { change: (c) => ENVOY_FEATURES.reduce(withoutFeature, c) }),
  ];
  const { maxThroughput, fixedRate, inspected: handshakes } = await measurePairs("hops", pairs, options, () => handshakeFigures(pairs));
  return { upstream: UPSTREAM, samplingPercent: options.samplingPercent, maxThroughput, fixedRate, handshakes };
}

export type HopCosts = Awaited<ReturnType<typeof hopCosts>>;

/**
 * TLS handshakes per 1000 requests at each mutual-TLS pair's back Envoy, over the whole
 * section (warm-up, maximum, every rate): connections are pooled and reused, so at a
 * steady load there should be next to none.
 */
async function handshakeFigures(pairs: readonly Pair[]) {
  const figures: Record<string, { handshakes: number; requests: number; per1000Requests: number | null }> = {};
  for (const pair of pairs.filter((p) => p.mtls)) {
    const back = pair.envoys[1]!.admin;
    const handshakes = await counterSum(back, "^listener\\..*\\.ssl\\.handshake$");
    const requests = await counterSum(back, "^http\\.(ingress_http|bare_back)\\.downstream_rq_total$");
    figures[pair.name] = { handshakes, requests, per1000Requests: round((handshakes * 1000) / requests, 3) };
  }
  return figures;
}

export function printHops(hops: HopCosts): void {
  console.log(`\n1b. Two Envoy hops against their floor (upstream: ${hops.upstream}); maximum throughput, CPU µs per request`);
  printPairFigures(hops, "pair/bare");
  const handshakeRows: Cell[][] = Object.entries(hops.handshakes).map(([name, h]) => [name, h.handshakes, h.requests, h.per1000Requests]);
  if (handshakeRows.length > 0) {
    console.log("TLS handshakes at the back Envoy of each mutual-TLS pair, over the whole section");
    console.log(renderTable(["pair", "handshakes", "requests", "per 1000 requests"], handshakeRows));
  }
}
