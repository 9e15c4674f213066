// Runs the mesh program under Pulumi's mocks and queries what it declared.
import { parseStackSettings, type StackSettings } from "../../infra/config.js";
import { deployMesh } from "../../infra/mesh-program.js";
import { SECRET_MASK, captureResources, maskSecrets, type RawResource } from "../../tools/resource-graph.js";

export interface MockRun {
  readonly settings: StackSettings;
  readonly resources: RawResource[];
}

export async function runMesh(raw: Record<string, unknown>): Promise<MockRun> {
  const settings = parseStackSettings(raw);
  const { resources } = await captureResources("test", () => deployMesh(settings));
  return { settings, resources };
}

export function ofType(run: MockRun, type: string): RawResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function named(run: MockRun, name: string): RawResource {
  const found = run.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; have ${run.resources.map((r) => r.name).join(", ")}`);
  return found;
}

export function dependsOnName(resource: RawResource, name: string): boolean {
  return resource.dependencyUrns.some((urn) => urn.endsWith(`::${name}`));
}

/** Every input, with secrets masked, as one string: where a leaked secret would show. */
export function visibleInputs(run: MockRun): string {
  return JSON.stringify(run.resources.map((r) => maskSecrets(r.inputs)));
}

/** The mocks' RandomPassword results all start with this (see tools/resource-graph.ts). */
export const MOCK_SECRET_PREFIX = "mock-mesh-secrets-";

/** A raw input that must be a secret as a whole, with the secret's value: what the provider would receive. */
export function secretValue(value: unknown): unknown {
  if (maskSecrets(value) !== SECRET_MASK || typeof value !== "object" || value === null || !("value" in value)) {
    throw new Error(`expected a secret, got ${JSON.stringify(value)}`);
  }
  return value.value;
}
