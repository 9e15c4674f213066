// An offline view of what `pulumi preview` would create: runs the program under
// Pulumi's mocks for a stack's settings and records every resource it declares
// (type, name, parent, dependencies, inputs with secrets masked), in a
// deterministic order. Needs no Pulumi CLI, engine, Docker or cluster.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "../infra/config.js";
import { deployMesh } from "../infra/mesh-program.js";
import { readStackFile } from "../infra/stack-config.js";

export const SECRET_MASK = "[secret]";
// How the Pulumi SDK marks a secret value in serialized properties.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  /** Name of the parent resource, or null at the top. */
  readonly parent: string | null;
  /** Names of the resources this one waits for (dependsOn and inputs from their outputs), sorted. */
  readonly dependsOn: readonly string[];
  readonly inputs: Readonly<Record<string, unknown>>;
}

export function isSecret(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replaces every secret with SECRET_MASK and sorts object keys. */
export function maskSecrets(value: unknown): unknown {
  if (isSecret(value)) return SECRET_MASK;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, maskSecrets((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Whether a raw input (before masking) holds a secret anywhere inside. */
export function containsSecret(value: unknown): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

/** Outputs the mocks give back beyond the inputs: only what the program reads. */
function mockOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-${name}` };
    case "docker:index/image:Image":
      return { imageName: inputs.imageName, repoDigest: `sha256:mock-${name}` };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: `sha256:mock-${name}`, repoDigest: `${String(inputs.name)}@sha256:mock` };
    case "docker:index/network:Network":
    case "docker:index/volume:Volume":
      return { name: inputs.name ?? name };
  }
  if (type.startsWith("kubernetes:")) {
    // Autonamed Kubernetes objects get their name from the provider.
    const metadata = (inputs.metadata ?? {}) as Record<string, unknown>;
    return { metadata: { ...metadata, name: metadata.name ?? name } };
  }
  return {};
}

/** A registration as the monitor saw it; inputs keep their secret markers (see containsSecret). */
export interface RawResource {
  urn: string;
  type: string;
  name: string;
  parentUrn: string;
  dependencyUrns: string[];
  inputs: Record<string, unknown>;
  /** Resource options the engine acts on: what forces a replacement, and in which order. */
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getReplaceonchangesList(): string[];
  getDeletebeforereplace(): boolean;
}

interface MockMonitorLike {
  registerResource(req: RegisterRequest, callback: (err: unknown, resp: { getUrn(): string } | undefined) => void): void;
}

/**
 * Runs `program` under mocks for `stack` and waits for every registration.
 * The monitor is wrapped (not replaced) to see parents and dependencies,
 * which the mocks API does not pass on.
 */
export async function captureResources<T>(stack: string, program: () => T | Promise<T>): Promise<{ resources: RawResource[]; result: T }> {
  const byName = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        byName.set(`${args.type}::${args.name}`, args.inputs as Record<string, unknown>);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...mockOutputs(args.type, args.name, args.inputs as Record<string, unknown>) } };
      },
      call: (args) => args.inputs,
    },
    "mesh",
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike;
  const register = monitor.registerResource.bind(monitor);
  const resources: RawResource[] = [];
  monitor.registerResource = (req, callback) =>
    register(req, (err, resp) => {
      if (!err && resp) {
        resources.push({
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parentUrn: req.getParent(),
          dependencyUrns: req.getDependenciesList(),
          inputs: byName.get(`${req.getType()}::${req.getName()}`) ?? {},
          replaceOnChanges: req.getReplaceonchangesList(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
        });
      }
      callback(err, resp);
    });
  const result = await program();
  // Waits until every registration (including those inside apply callbacks) is done.
  await pulumi.runtime.disconnect();
  return { resources, result };
}

function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Every resource the mesh program declares for these settings, masked and sorted. */
export async function declaredResources(stack: string, settings: StackSettings): Promise<DeclaredResource[]> {
  const { resources } = await captureResources(stack, () => deployMesh(settings));
  return resources
    .map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parentUrn ? nameOfUrn(r.parentUrn) : null,
      dependsOn: [...new Set(r.dependencyUrns.map(nameOfUrn))].sort(),
      inputs: maskSecrets(r.inputs) as Record<string, unknown>,
    }))
    .sort((a, b) => (a.type === b.type ? compare(a.name, b.name) : compare(a.type, b.type)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const RESOURCE_GRAPH_FILE = "resources.json";

/** Writes `<outDir>/resources.json` for `Pulumi.<stack>.yaml`; returns how many resources it lists. */
export async function writeResourceGraph(projectDir: string, stack: string, outDir: string): Promise<number> {
  const resources = await declaredResources(stack, readStackFile(projectDir, stack));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, RESOURCE_GRAPH_FILE), `${JSON.stringify(resources, null, 2)}\n`);
  return resources.length;
}
