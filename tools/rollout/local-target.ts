// The rollout's target on the local runner: weights go to the running Envoys through
// their dynamic directories (LocalMesh.setTraffic), figures come from the run's
// Prometheus. Both releases run this checkout's apps here, so promoting the canary
// means the stable release, which already runs the same code, takes all traffic again
// and the canary's replicas stop, as rolling back does; what differs is the decision.
import type { LocalMesh } from "../../infra/local/mesh.js";
import type { ServiceName } from "../../infra/model.js";
import type { TrafficPolicy } from "../../infra/traffic.js";
import { type PrometheusQuery, releaseFigures } from "./release-metrics.js";
import type { RolloutTarget } from "./rollout.js";

export function withoutCanary(traffic: TrafficPolicy, service: ServiceName): TrafficPolicy {
  const canaries = { ...traffic.canaries };
  delete canaries[service];
  return { ...traffic, canaries };
}

export function localRolloutTarget(mesh: LocalMesh, service: ServiceName, query: PrometheusQuery): RolloutTarget {
  const canary = mesh.model.traffic.canaries[service];
  if (canary === undefined) throw new Error(`${service} runs no canary: start one first (mesh:canaries.${service})`);
  return {
    setWeight: (weightPercent) => mesh.setTraffic({ ...mesh.model.traffic, canaries: { ...mesh.model.traffic.canaries, [service]: { ...canary, weightPercent } } }),
    promote: () => mesh.setTraffic(withoutCanary(mesh.model.traffic, service)),
    rollBack: () => mesh.setTraffic(withoutCanary(mesh.model.traffic, service)),
    figures: async (windowSeconds) => ({
      stable: await releaseFigures(query, service, "stable", windowSeconds),
      canary: await releaseFigures(query, service, "canary", windowSeconds),
    }),
  };
}
