// The program behind index.ts, as a function of validated settings, so the
// offline renderer and the tests can run it under mocks for any stack.
import { meshModelFor, type StackSettings } from "./config.js";
import { DockerMesh } from "./docker/mesh.js";
import { KubernetesMesh } from "./kubernetes/mesh.js";
import type { MeshEndpoints } from "./mesh-endpoints.js";

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
 * The stack's outputs: what index.ts exports, named the same, for a program run inline
 * through the Automation API (the deploy lanes, `npm run rollout -- --pulumi`), whose
 * `up` must leave the outputs a `pulumi up` of index.ts leaves.
 */
export function meshOutputs(mesh: MeshEndpoints) {
  const { gatewayUrl, gatewayHttpsUrl, meshCaCertificate, adminUrls, adminPortForwards, prometheusUrl, grafanaUrl, zipkinUrl, grafanaAdminPassword } = mesh;
  return { gatewayUrl, gatewayHttpsUrl, meshCaCertificate, adminUrls, adminPortForwards, prometheusUrl, grafanaUrl, zipkinUrl, grafanaAdminPassword };
}
