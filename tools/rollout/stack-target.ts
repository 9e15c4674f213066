// The rollout's target on a Pulumi stack (the kubernetes target: the docker target runs
// no canaries). Every change is stack config and an `up` of the project's program:
// - a weight is mesh:canaries.<service>.weightPercent; that `up` changes only the callers'
//   dynamic ConfigMaps, which the kubelet syncs into their pods within about a minute, so a
//   step begins only once Prometheus shows every caller's Envoy reloaded those routes;
// - promotion gives the stable release the canary's image (mesh:appImages) while the canary
//   still carries the traffic, then moves the weight to 0, then removes the canary;
// - rolling back moves the weight to 0, then removes the canary.
// The weight reaches 0 in an `up` of its own before the canary's pods go: removing them in
// the same `up` would leave callers routing to pods that are gone until their ConfigMaps sync.
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { CONFIG_NAMESPACE } from "../../infra/config.js";
import type { ServiceName, Workload } from "../../infra/model.js";
import type { CanaryRelease } from "../../infra/traffic.js";
import { oldestRouteReloadMs, type PrometheusQuery, releasePairFigures } from "./release-metrics.js";
import type { RolloutTarget } from "./rollout.js";

/** What the rollout needs of a stack: its `mesh:` config and `up`. */
export interface StackControl {
  /** The value of `mesh:<key>` (objects parsed), undefined when unset. */
  get(key: string): Promise<unknown>;
  /** Sets `mesh:<key>`; undefined removes it. */
  set(key: string, value: unknown): Promise<void>;
  /** `pulumi up`; resolves with its count of resources per operation (update, create, delete, same, ...). */
  up(): Promise<Readonly<Record<string, number>>>;
  /** When the stack's last update started (ms since the epoch), if it has one. */
  lastUpdateStartMs(): Promise<number | undefined>;
}

/** A stack of the Automation API as StackControl; each `up`'s changes go to `log`. */
export function automationStack(stack: Stack, log: (line: string) => void): StackControl {
  const name = (key: string) => `${CONFIG_NAMESPACE}:${key}`;
  return {
    async get(key) {
      const entry = (await stack.getAllConfig())[name(key)];
      if (entry === undefined) return undefined;
      try {
        return JSON.parse(entry.value) as unknown;
      } catch {
        return entry.value;
      }
    },
    async set(key, value) {
      if (value === undefined) await stack.removeConfig(name(key));
      else await stack.setConfig(name(key), { value: typeof value === "string" ? value : JSON.stringify(value) });
    },
    async up() {
      const result = await stack.up({ color: "never" });
      if (result.summary.result !== "succeeded") throw new Error(`pulumi up ${result.summary.result}: ${result.stderr}`);
      const changes = result.summary.resourceChanges ?? {};
      log(`  pulumi up: ${JSON.stringify(changes)}`);
      return changes;
    },
    async lastUpdateStartMs() {
      const [last] = await stack.history(1);
      return last === undefined ? undefined : new Date(last.startTime).getTime();
    },
  };
}

export interface StackTargetOptions {
  readonly service: ServiceName;
  /** The workloads whose Envoys route to the service (model.ts callersOf). */
  readonly callers: readonly Workload[];
  readonly query: PrometheusQuery;
  readonly log?: (line: string) => void;
  /** How long the callers' Envoys may take to reload their routes after an `up` (default 5 minutes). */
  readonly reloadTimeoutMs?: number;
  /** How long after the stack's last update began a change of it may still be on its way to the pods (default 2 minutes: the kubelet syncs a ConfigMap volume within about one). */
  readonly settleMs?: number;
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

type Canaries = Partial<Record<ServiceName, CanaryRelease>>;

export async function stackRolloutTarget(stack: StackControl, options: StackTargetOptions): Promise<RolloutTarget> {
  const { service, callers, query } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const canaries = async () => ((await stack.get("canaries")) ?? {}) as Canaries;
  const canary = (await canaries())[service];
  if (canary === undefined) throw new Error(`${service} runs no canary on this stack: set ${CONFIG_NAMESPACE}:canaries.${service} and run pulumi up first`);

  /** Waits until every caller's Envoy has reloaded its routes to the service since `since`; past `until`, `onTimeout`. */
  const awaitReload = async (since: number, until: number, onTimeout: () => void) => {
    for (;;) {
      const oldest = await oldestRouteReloadMs(query, service, callers);
      if (oldest >= since) {
        log(`  every Envoy of ${callers.join(", ")} reloaded its routes to ${service} ${((now() - since) / 1000).toFixed(0)} s after the change`);
        return;
      }
      if (now() > until) return onTimeout();
      await sleep(options.pollMs ?? 5000);
    }
  };
  // A reload says which change arrived only if no earlier one is still on its way: the stack's last
  // update (the one that started this canary, say) may have changed the callers' routes moments ago.
  const lastUpdate = await stack.lastUpdateStartMs();
  const settled = (lastUpdate ?? 0) + (options.settleMs ?? 120_000);
  if (lastUpdate !== undefined && now() < settled) {
    log(`  waiting up to ${Math.round((settled - now()) / 1000)} s for the stack's last update to reach the Envoys of ${callers.join(", ")}`);
    await awaitReload(lastUpdate, settled, () => log("  no reload since the last update: it left their routes as they were"));
  }
  const setWeight = async (weightPercent: number) => {
    const since = now();
    await stack.set("canaries", { ...(await canaries()), [service]: { ...canary, weightPercent } });
    await stack.up();
    await awaitReload(since, since + (options.reloadTimeoutMs ?? 300_000), () => {
      throw new Error(`the Envoys of ${callers.join(", ")} had not all reloaded their routes to ${service} ${((now() - since) / 1000).toFixed(0)} s after the change`);
    });
  };
  const removeCanary = async () => {
    const rest = { ...(await canaries()) };
    delete rest[service];
    await stack.set("canaries", Object.keys(rest).length > 0 ? rest : undefined);
    await stack.up();
  };

  return {
    setWeight,
    async promote() {
      if (canary.image !== undefined) {
        log(`  the stable release of ${service} takes the canary's image ${canary.image}`);
        const appImages = ((await stack.get("appImages")) ?? {}) as Record<string, string>;
        await stack.set("appImages", { ...appImages, [service]: canary.image });
        await stack.up();
      }
      await setWeight(0);
      await removeCanary();
    },
    async rollBack() {
      await setWeight(0);
      await removeCanary();
    },
    figures: (windowSeconds) => releasePairFigures(query, service, windowSeconds),
  };
}
