// `npm run rollout -- <service> [--state-dir DIR] [--stack NAME [--pulumi [--prometheus URL]]] [--steps 5,25,50,100] [--hold SECONDS]`:
// moves the canary of <service> to stable, step by step, and decides by itself
// (tools/rollout/rollout.ts): on the local mesh running with state in DIR (default .mesh/,
// started by `npm run mesh:local`), or with --pulumi on the Pulumi stack NAME of this project
// (the kubernetes target: every step is stack config and a `pulumi up`, tools/rollout/stack-target.ts;
// its figures come from the stack's prometheusUrl output or --prometheus). The policy is
// mesh:rollout of Pulumi.<NAME>.yaml when --stack is given (else the defaults), with --steps and
// --hold over it. Exit code 0: promoted; 3: rolled back; 1: it could not run.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { LocalWorkspace } from "@pulumi/pulumi/automation/index.js";
import { CONFIG_NAMESPACE, parseRolloutPolicy } from "../../infra/config.js";
import { ENDPOINTS_FILE, PROJECT_ROOT, type LocalMeshEndpoints } from "../../infra/local/mesh.js";
import { inlineMeshProgram } from "../../infra/mesh-program.js";
import { buildMeshModel, callersOf, SERVICE_NAMES, type ServiceName } from "../../infra/model.js";
import type { RolloutPolicy } from "../../infra/traffic.js";
import { localRolloutTarget, throughStateDir } from "./local-target.js";
import { prometheusQuerier } from "./release-metrics.js";
import { runRollout, type RolloutTarget } from "./rollout.js";
import { automationStack, stackRolloutTarget } from "./stack-target.js";

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

/** The local mesh with state in `stateDir` (`npm run mesh:local`). */
function localTarget(service: ServiceName, stateDir: string): { where: string; target: RolloutTarget } {
  let endpoints: LocalMeshEndpoints;
  try {
    endpoints = JSON.parse(readFileSync(join(stateDir, ENDPOINTS_FILE), "utf8")) as LocalMeshEndpoints;
  } catch {
    throw new Error(`no local mesh is running with state in ${stateDir} (no ${ENDPOINTS_FILE}): start one with npm run mesh:local`);
  }
  return { where: `the local mesh in ${stateDir}`, target: localRolloutTarget(throughStateDir(stateDir), service, prometheusQuerier(endpoints.prometheus)) };
}

/** This project's Pulumi stack `stackName`, its program run inline (index.ts's outputs but the Grafana password: meshOutputs). */
async function pulumiTarget(service: ServiceName, stackName: string, prometheus: string | undefined): Promise<{ where: string; target: RolloutTarget }> {
  const stack = await LocalWorkspace.selectStack({ stackName, projectName: "mesh", program: inlineMeshProgram(PROJECT_ROOT) }, { workDir: PROJECT_ROOT });
  const control = automationStack(stack, (line) => console.log(line));
  const target = await control.get("target");
  if (target !== "kubernetes") throw new Error(`stack ${stackName} has ${CONFIG_NAMESPACE}:target ${JSON.stringify(target)}: canaries run on the kubernetes target (and the local runner, without --pulumi)`);
  const prometheusUrl = prometheus ?? (await stack.outputs()).prometheusUrl?.value;
  if (typeof prometheusUrl !== "string") throw new Error(`stack ${stackName} has no prometheusUrl output: run pulumi up first, or pass --prometheus URL`);
  return {
    where: `stack ${stackName} (Prometheus at ${prometheusUrl})`,
    target: await stackRolloutTarget(control, { service, callers: callersOf(buildMeshModel(), service), query: prometheusQuerier(prometheusUrl) }),
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      "state-dir": { type: "string" },
      stack: { type: "string" },
      pulumi: { type: "boolean" },
      prometheus: { type: "string" },
      steps: { type: "string" },
      hold: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const service = positionals[0];
  if (positionals.length !== 1 || !(SERVICE_NAMES as readonly string[]).includes(service ?? "")) {
    throw new Error(`usage: npm run rollout -- <service> [--state-dir DIR] [--stack NAME [--pulumi [--prometheus URL]]] [--steps 5,25,50,100] [--hold SECONDS]; services: ${SERVICE_NAMES.join(", ")}`);
  }
  if (values.pulumi && values.stack === undefined) throw new Error("--pulumi needs --stack NAME: the stack to roll out on");
  if (values.pulumi && values["state-dir"] !== undefined) throw new Error("--pulumi rolls out on a stack, --state-dir on a local mesh: give one of them");
  const policy = policyFrom(values);
  const { where, target } = values.pulumi
    ? await pulumiTarget(service as ServiceName, values.stack!, values.prometheus)
    : localTarget(service as ServiceName, resolve(values["state-dir"] ?? join(PROJECT_ROOT, ".mesh")));
  console.log(`rollout of ${service} on ${where}: steps ${policy.steps.join(" → ")} %, ${policy.holdSeconds} s each`);
  const result = await runRollout({ service: service as ServiceName, policy, target });
  return result.decision === "promoted" ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`rollout: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
