// The rollout's target on the local runner: weights reach the running Envoys through
// their dynamic directories (LocalMesh.setTraffic, in this process or, through the run's
// traffic file, in the runner's), figures come from the run's Prometheus. Both releases
// run this checkout's apps here, so promoting the canary means the stable release, which
// already runs the same code, takes all traffic again and the canary's replicas stop,
// as rolling back does; what differs is the decision.
import type { LocalMesh } from "../../infra/local/mesh.js";
import { readTrafficStatus, requestTraffic } from "../../infra/local/traffic-file.js";
import type { ServiceName } from "../../infra/model.js";
import type { TrafficPolicy } from "../../infra/traffic.js";
import { type PrometheusQuery, releasePairFigures } from "./release-metrics.js";
import type { RolloutTarget } from "./rollout.js";

/** How the rollout reads and changes a local mesh's traffic policy. */
export interface TrafficControl {
  current(): TrafficPolicy;
  apply(traffic: TrafficPolicy): Promise<void>;
}

export function inProcess(mesh: LocalMesh): TrafficControl {
  return { current: () => mesh.model.traffic, apply: (traffic) => mesh.setTraffic(traffic) };
}

/** The runner of `stateDir` (`npm run mesh:local`), through its traffic file. */
export function throughStateDir(stateDir: string): TrafficControl {
  return {
    current: () => {
      const status = readTrafficStatus(stateDir);
      if (status === undefined) throw new Error(`no local mesh is running with state in ${stateDir} (no traffic status there): start one with npm run mesh:local`);
      return status.traffic;
    },
    apply: (traffic) => requestTraffic(stateDir, traffic),
  };
}

export function withoutCanary(traffic: TrafficPolicy, service: ServiceName): TrafficPolicy {
  const canaries = { ...traffic.canaries };
  delete canaries[service];
  return { ...traffic, canaries };
}

export function localRolloutTarget(control: TrafficControl, service: ServiceName, query: PrometheusQuery): RolloutTarget {
  const canary = control.current().canaries[service];
  if (canary === undefined) throw new Error(`${service} runs no canary: start one first (mesh:canaries.${service}, or the local mesh's --traffic file)`);
  return {
    setWeight: (weightPercent) => {
      const traffic = control.current();
      return control.apply({ ...traffic, canaries: { ...traffic.canaries, [service]: { ...canary, weightPercent } } });
    },
    promote: () => control.apply(withoutCanary(control.current(), service)),
    rollBack: () => control.apply(withoutCanary(control.current(), service)),
    figures: (windowSeconds) => releasePairFigures(query, service, windowSeconds),
  };
}
