// Starts the loopback Kubernetes control plane (scripts/control-plane.sh) in a
// private state folder for the deploy lane, and stops it afterwards. Refuses to
// start, naming the setup script, when an engine the lane needs is missing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { requireDeployTools } from "./tools.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

const script = join(import.meta.dirname, "../../scripts/control-plane.sh");

export default function setup(project: TestProject): () => void {
  requireDeployTools();
  const dir = mkdtempSync(join(tmpdir(), "mesh-control-plane-"));
  const env = { ...process.env, MESH_CONTROL_PLANE_DIR: dir };
  const stop = () => {
    execFileSync("bash", [script, "stop"], { env, stdio: "inherit" });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kubeconfig = execFileSync("bash", [script, "start"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 180_000 }).trim();
    project.provide("kubeconfig", kubeconfig);
  } catch (err) {
    stop();
    throw err;
  }
  return stop;
}
