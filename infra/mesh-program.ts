// The program behind index.ts, as a function of validated settings, so the
// offline renderer and the tests can run it under mocks for any stack.
import { meshModelFor, type StackSettings } from "./config.js";
import { DockerMesh } from "./docker/mesh.js";
import { KubernetesMesh } from "./kubernetes/mesh.js";
import type { MeshEndpoints } from "./mesh-endpoints.js";
import { readStackSettings } from "./stack-config.js";

/** Name of the top-level component; every resource name starts with it. */
export const MESH_NAME = "mesh";

export interface DeployOptions {
  /**
   * The app images' build context as the Docker provider resolves it, from the Pulumi
   * project's folder: "." (this repository, as index.ts runs), or this repository's
   * path when another folder is the project (an Automation API workspace).
   */
  readonly buildContext?: string;
}

export function deployMesh(settings: StackSettings, options: DeployOptions = {}): MeshEndpoints {
  const args = { model: meshModelFor(settings), settings, buildContext: options.buildContext ?? "." };
  switch (settings.target) {
    case "docker":
      return new DockerMesh(MESH_NAME, args);
    case "kubernetes":
      return new KubernetesMesh(MESH_NAME, args);
  }
}

/**
 * The stack outputs a program run inline through the Automation API (the deploy lanes,
 * `npm run rollout -- --pulumi`) sets: what index.ts exports, named the same, but the
 * Grafana admin password. Returned from an inline program, that secret output reached the
 * state in plaintext (the kwok lane's state check caught it), so an inline run leaves it out.
 */
export function meshOutputs(mesh: MeshEndpoints) {
  const { gatewayUrl, gatewayHttpsUrl, meshCaCertificate, adminUrls, adminPortForwards, prometheusUrl, grafanaUrl, zipkinUrl } = mesh;
  return { gatewayUrl, gatewayHttpsUrl, meshCaCertificate, adminUrls, adminPortForwards, prometheusUrl, grafanaUrl, zipkinUrl };
}

/**
 * index.ts as a program the Automation API runs inline: the engine's language runtime
 * is the calling process. `buildContext` is this repository's path, since the
 * workspace running it may be another folder.
 */
export function inlineMeshProgram(buildContext: string) {
  return async () => meshOutputs(deployMesh(readStackSettings(), { buildContext }));
}
