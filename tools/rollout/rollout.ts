// A canary rollout that decides by itself: the canary's weight goes up step by step;
// during each hold its error share and p99 are compared with the stable release's; a
// breach rolls it back at once, and a rollout that holds through every step promotes
// it. Target-agnostic: how a weight is set, a release promoted or rolled back, and
// where the figures come from are given by the caller (tools/rollout/main.ts).
import type { ServiceName } from "../../infra/model.js";
import type { RolloutPolicy } from "../../infra/traffic.js";
import type { ReleaseFigures } from "./release-metrics.js";

export interface RolloutTarget {
  /** Sends `weightPercent` % of the service's traffic to its canary; resolves once every proxy does. */
  setWeight(weightPercent: number): Promise<void>;
  /** The canary becomes the stable release. */
  promote(): Promise<void>;
  /** The stable release takes all traffic again and the canary goes. */
  rollBack(): Promise<void>;
  /** Both releases' figures over the last `windowSeconds`. */
  figures(windowSeconds: number): Promise<{ stable: ReleaseFigures; canary: ReleaseFigures }>;
}

export interface RolloutOptions {
  readonly service: ServiceName;
  readonly policy: RolloutPolicy;
  readonly target: RolloutTarget;
  /** How often a hold checks and prints its progress line (default 10 s). */
  readonly checkEverySeconds?: number;
  readonly log?: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RolloutResult {
  readonly decision: "promoted" | "rolled back";
  /** The weight (%) the canary had when the decision was made. */
  readonly atWeight: number;
  readonly stepsHeld: number;
  /** Why it rolled back, or that it held through every step. */
  readonly reason: string;
  readonly stable?: ReleaseFigures;
  readonly canary?: ReleaseFigures;
}

const pct = (ratio: number) => `${(ratio * 100).toFixed(2)} %`;
const ms = (value: number) => (Number.isNaN(value) ? "n/a" : `${value.toFixed(1)} ms`);

export function describeFigures(name: string, f: ReleaseFigures): string {
  return `${name} ${Math.round(f.requests)} req, ${pct(f.errorRatio)} 5xx, p99 ${ms(f.p99Ms)}`;
}

/** The breach, if the canary's figures break the policy against the stable's; undefined when it is fine or there is too little to judge. */
export function breach(policy: RolloutPolicy, stable: ReleaseFigures, canary: ReleaseFigures): string | undefined {
  if (canary.requests < policy.minRequests) return undefined;
  const errorIncrease = (canary.errorRatio - stable.errorRatio) * 100;
  if (errorIncrease > policy.maxErrorPercentIncrease) {
    return `canary 5xx ${pct(canary.errorRatio)} is ${errorIncrease.toFixed(2)} points above stable's ${pct(stable.errorRatio)} (limit ${policy.maxErrorPercentIncrease})`;
  }
  if (!Number.isNaN(canary.p99Ms) && !Number.isNaN(stable.p99Ms) && canary.p99Ms > stable.p99Ms * policy.maxP99Ratio && canary.p99Ms - stable.p99Ms > policy.p99SlackMs) {
    return `canary p99 ${ms(canary.p99Ms)} is over ${policy.maxP99Ratio}× stable's ${ms(stable.p99Ms)}`;
  }
  return undefined;
}

export async function runRollout(options: RolloutOptions): Promise<RolloutResult> {
  const { policy, target, service } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const sleep = options.sleep ?? ((delay: number) => new Promise<void>((resolve) => setTimeout(resolve, delay)));
  const checkEvery = Math.min(options.checkEverySeconds ?? 10, policy.holdSeconds);
  let stepsHeld = 0;
  let last: { stable: ReleaseFigures; canary: ReleaseFigures } | undefined;
  for (const [i, weight] of policy.steps.entries()) {
    log(`step ${i + 1}/${policy.steps.length}: ${service} canary at ${weight} %`);
    await target.setWeight(weight);
    for (let held = 0; held < policy.holdSeconds; ) {
      const wait = Math.min(checkEvery, policy.holdSeconds - held);
      await sleep(wait * 1000);
      held += wait;
      // Only this step's hold so far: the figures of an earlier weight (or an earlier canary) never count.
      last = await target.figures(held);
      const tooFew = last.canary.requests < policy.minRequests ? ` (under ${policy.minRequests} canary requests: nothing to judge yet)` : "";
      log(`  holding ${weight} %: ${held}/${policy.holdSeconds} s; ${describeFigures("canary", last.canary)}; ${describeFigures("stable", last.stable)}${tooFew}`);
      const reason = breach(policy, last.stable, last.canary);
      if (reason !== undefined) {
        await target.rollBack();
        log(`decision: rolled back at ${weight} % after ${stepsHeld} step(s) held: ${reason}`);
        return { decision: "rolled back", atWeight: weight, stepsHeld, reason, ...last };
      }
    }
    // A hold that ends without enough canary traffic to judge proves nothing: no promotion on no evidence.
    if (last === undefined || last.canary.requests < policy.minRequests) {
      const reason = `too little traffic to judge the canary at ${weight} %: ${Math.round(last?.canary.requests ?? 0)} requests over the ${policy.holdSeconds} s hold (minRequests ${policy.minRequests})`;
      await target.rollBack();
      log(`decision: rolled back at ${weight} % after ${stepsHeld} step(s) held: ${reason}`);
      return { decision: "rolled back", atWeight: weight, stepsHeld, reason, ...last };
    }
    stepsHeld++;
  }
  await target.promote();
  const reason = `held through ${policy.steps.length} steps within the limits`;
  log(`decision: promoted ${service}'s canary: ${reason}${last ? `; last ${describeFigures("canary", last.canary)}; ${describeFigures("stable", last.stable)}` : ""}`);
  return { decision: "promoted", atWeight: policy.steps.at(-1) ?? 100, stepsHeld, reason, ...last };
}
