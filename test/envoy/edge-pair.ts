// An edge and a catalog sidecar from the rendered configs, for tests that run real
// Envoys: each on its own loopback address in a random block, IP literals everywhere
// (no DNS), the shared Postgres on 127.0.0.1. The test runs a stand-in catalog app on
// `catalogPod`:PORTS.app before starting the pair.
import { renderProxyConfig } from "../../envoy-templates/index.js";
import { type MeshOptions, PORTS, buildMeshModel } from "../../infra/model.js";
import { type RunningEnvoy, type StartEnvoyOptions, startEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { loopbackAddressing, loopbackPod } from "./loopback.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";

export function edgePairLayout(options: MeshOptions = {}) {
  const block = randomBlockPrefix();
  return {
    block,
    edgePod: loopbackPod(block, "edge", 0),
    catalogPod: loopbackPod(block, "catalog-sidecar", 0),
    model: buildMeshModel({}, options),
    addressing: loopbackAddressing(block, {
      serviceHost: (service) => loopbackPod(block, `${service}-sidecar`, 0),
      dataStoreHost: () => "127.0.0.1",
    }),
  };
}

export type EdgePairLayout = ReturnType<typeof edgePairLayout>;

/** Starts both Envoys and resolves once the edge routes to the sidecar (its active /readyz check passed). */
export async function startEdgePair(layout: EdgePairLayout, envoyOptions: StartEnvoyOptions = {}): Promise<{ sidecar: RunningEnvoy; edge: RunningEnvoy; stop(): Promise<void> }> {
  const [sidecar, edge] = await Promise.all([
    startEnvoy(renderProxyConfig(layout.model, "catalog-sidecar", layout.addressing), envoyOptions),
    startEnvoy(renderProxyConfig(layout.model, "edge", layout.addressing), envoyOptions),
  ]);
  const stop = async () => void (await Promise.all([sidecar.stop(), edge.stop()]));
  try {
    await waitFor("the edge to route to the catalog sidecar", async () => {
      const res = await fetch(`http://${layout.edgePod}:${PORTS.edgeHttp}/api/products`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { sidecar, edge, stop };
}
