import { defineConfig } from "vitest/config";

// The real deploy lane: the Pulumi engine through the Automation API, for the
// Kubernetes target against a real API server (scripts/control-plane.sh, the
// default and what CI runs: with a simulated node, then with a real one),
// or, with MESH_DEPLOY_TARGET=docker, for the Docker target on the Docker Engine
// of this machine (opt-in: it builds and pulls images).
const target = process.env.MESH_DEPLOY_TARGET ?? "kubernetes";
if (target !== "kubernetes" && target !== "docker") {
  throw new Error(`MESH_DEPLOY_TARGET: expected kubernetes or docker, got "${target}"`);
}

export default defineConfig({
  test: {
    // Kubernetes: the objects on a simulated node (kwok), then the mesh in real pods on a real node.
    include: target === "docker" ? ["test/deploy/docker.test.ts"] : ["test/deploy/kubernetes.test.ts", "test/deploy/kubernetes-node.test.ts"],
    globalSetup: target === "kubernetes" ? ["test/deploy/global-setup.ts"] : [],
    testTimeout: 900_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
