// The deploy lanes' shared parts: a throwaway stack of the mesh program on a file
// backend in a temp folder, driven through the Automation API with index.ts's
// program inline, and what the program declares under mocks for comparison.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type ConfigMap, type EngineEvent, LocalWorkspace, type Stack } from "@pulumi/pulumi/automation/index.js";
import { PASSWORD_NAMES, passwordKey } from "../../infra/config.js";
import { inlineMeshProgram } from "../../infra/mesh-program.js";
import { renewalPeriodMs } from "../../infra/pki/index.js";

const root = join(import.meta.dirname, "../..");

/**
 * A certificate lifetime, from the default 24 hours up, whose current renewal epoch still
 * has `runMs` to go: every `up` of a lane shorter than that issues the same certificates.
 * With the default, a lane that crossed an epoch's end saw the identity Secrets change
 * on an `up` that was meant to change nothing.
 */
export function lifetimeHoursWithoutRenewal(runMs: number, now = Date.now()): number {
  for (let hours = 24; hours <= 48; hours++) {
    const period = renewalPeriodMs(hours);
    if (period - (now % period) >= runMs) return hours;
  }
  throw new Error(`no certificate lifetime from 24 to 48 hours has ${runMs} ms left in its epoch`);
}

/** Passwords provided as stack secrets, so no random provider is needed. */
export function providedPasswords(): Record<string, string> {
  return Object.fromEntries(PASSWORD_NAMES.map((name) => [passwordKey(name), randomBytes(18).toString("hex")]));
}

export function stackConfig(plain: Record<string, unknown>, secrets: Record<string, string>): ConfigMap {
  return {
    ...Object.fromEntries(Object.entries(plain).map(([key, value]) => [`mesh:${key}`, { value: typeof value === "string" ? value : JSON.stringify(value) }])),
    ...Object.fromEntries(Object.entries(secrets).map(([key, value]) => [`mesh:${key}`, { value, secret: true }])),
  };
}

export async function throwawayStack(stackName: string, work: string, envVars: Record<string, string> = {}): Promise<Stack> {
  // The file backend's folder must exist; Pulumi does not create it.
  mkdirSync(join(work, "state"), { recursive: true });
  return LocalWorkspace.createOrSelectStack(
    {
      stackName,
      projectName: "mesh",
      // The workspace is a temp folder: the app images build from this repository's path.
      program: inlineMeshProgram(root),
    },
    {
      workDir: work,
      projectSettings: { name: "mesh", runtime: "nodejs", backend: { url: `file://${join(work, "state")}` } },
      envVars: { PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"), PULUMI_SKIP_UPDATE_CHECK: "true", ...envVars },
    },
  );
}

export interface Declared {
  type: string;
  name: string;
  inputs: unknown;
}

/** What the program declares under mocks for these raw settings, from a process of its own. */
export function declared(raw: Record<string, unknown>, secretKeys: string[]): Declared[] {
  const out = execFileSync(process.execPath, ["--import", "tsx", join(import.meta.dirname, "declared.ts"), JSON.stringify(raw), JSON.stringify(secretKeys)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out) as Declared[];
}

export const resourceKey = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** Resources whose declared inputs differ between two sets of settings. */
export function changedBetween(before: Declared[], after: Declared[]): string[] {
  const next = new Map(after.map((r) => [resourceKey(r), JSON.stringify(r.inputs)]));
  return before.filter((r) => next.has(resourceKey(r)) && next.get(resourceKey(r)) !== JSON.stringify(r.inputs)).map(resourceKey).sort();
}

/** The steps a replacement takes beside its "replace" step. */
const REPLACEMENT_STEPS = new Set(["create-replacement", "delete-replaced", "discard-replaced"]);

/** What an operation did to each resource (type::name → op), the stack and default providers left out. */
export function operations(events: EngineEvent[]): Map<string, string> {
  const ops = new Map<string, string>();
  for (const event of events) {
    const metadata = event.resourcePreEvent?.metadata;
    if (!metadata || metadata.type === "pulumi:pulumi:Stack" || REPLACEMENT_STEPS.has(metadata.op)) continue;
    // The engine's default provider for a package (the mocks have none); explicit providers stay.
    if (metadata.type.startsWith("pulumi:providers:") && metadata.urn.includes("::default_")) continue;
    ops.set(`${metadata.type}::${metadata.urn.slice(metadata.urn.lastIndexOf("::") + 2)}`, metadata.op);
  }
  return ops;
}
