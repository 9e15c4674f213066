// The program behind index.ts, as a function of validated settings, so the
// offline renderer and the tests can run it under mocks for any stack.
import { meshModelFor, type StackSettings } from "./config.js";
import { DockerMesh } from "./docker/mesh.js";
import { KubernetesMesh } from "./kubernetes/mesh.js";
import type { MeshEndpoints } from "./mesh-endpoints.js";

/** Name of the top-level component; every resource name starts with it. */
export const MESH_NAME = "mesh";

export function deployMesh(settings: StackSettings): MeshEndpoints {
  const model = meshModelFor(settings);
  switch (settings.target) {
    case "docker":
      return new DockerMesh(MESH_NAME, { model, settings });
    case "kubernetes":
      return new KubernetesMesh(MESH_NAME, { model, settings });
  }
}
