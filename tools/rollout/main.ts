// `npm run rollout -- <service> [--state-dir DIR] [--stack NAME] [--steps 5,25,50,100] [--hold SECONDS]`:
// moves the canary of <service> on the local mesh running with state in DIR (default
// .mesh/, started by `npm run mesh:local`) to stable, step by step, and decides by itself
// (tools/rollout/rollout.ts). The policy is mesh:rollout of Pulumi.<NAME>.yaml when --stack
// is given (else the defaults), with --steps and --hold over it. Exit code 0: promoted;
// 3: rolled back; 1: it could not run.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { CONFIG_NAMESPACE, parseRolloutPolicy } from "../../infra/config.js";
import { ENDPOINTS_FILE, PROJECT_ROOT, type LocalMeshEndpoints } from "../../infra/local/mesh.js";
import { SERVICE_NAMES, type ServiceName } from "../../infra/model.js";
import type { RolloutPolicy } from "../../infra/traffic.js";
import { localRolloutTarget, throughStateDir } from "./local-target.js";
import { prometheusQuerier } from "./release-metrics.js";
import { runRollout } from "./rollout.js";

function stackPolicy(stack: string | undefined): Record<string, unknown> {
  if (stack === undefined) return {};
  const file = join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  const config = (parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
  const rollout = config[`${CONFIG_NAMESPACE}:rollout`];
  return rollout === undefined ? {} : (rollout as Record<string, unknown>);
}

function policyFrom(values: { stack?: string; steps?: string; hold?: string }): RolloutPolicy {
  const raw = { ...stackPolicy(values.stack) };
  if (values.steps !== undefined) raw.steps = values.steps.split(",").map((w) => w.trim());
  if (values.hold !== undefined) raw.holdSeconds = values.hold;
  return parseRolloutPolicy(raw);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { "state-dir": { type: "string" }, stack: { type: "string" }, steps: { type: "string" }, hold: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const service = positionals[0];
  if (positionals.length !== 1 || !(SERVICE_NAMES as readonly string[]).includes(service ?? "")) {
    throw new Error(`usage: npm run rollout -- <service> [--state-dir DIR] [--stack NAME] [--steps 5,25,50,100] [--hold SECONDS]; services: ${SERVICE_NAMES.join(", ")}`);
  }
  const policy = policyFrom(values);
  const stateDir = resolve(values["state-dir"] ?? join(PROJECT_ROOT, ".mesh"));
  let endpoints: LocalMeshEndpoints;
  try {
    endpoints = JSON.parse(readFileSync(join(stateDir, ENDPOINTS_FILE), "utf8")) as LocalMeshEndpoints;
  } catch {
    throw new Error(`no local mesh is running with state in ${stateDir} (no ${ENDPOINTS_FILE}): start one with npm run mesh:local`);
  }
  console.log(`rollout of ${service} on the local mesh in ${stateDir}: steps ${policy.steps.join(" → ")} %, ${policy.holdSeconds} s each`);
  const result = await runRollout({
    service: service as ServiceName,
    policy,
    target: localRolloutTarget(throughStateDir(stateDir), service as ServiceName, prometheusQuerier(endpoints.prometheus)),
  });
  return result.decision === "promoted" ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`rollout: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
