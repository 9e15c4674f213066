// The engines the deploy lane drives, as scripts/setup.sh builds them (pinned in
// scripts/versions.sh). A missing one fails the lane with what to run.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");

/** A version pinned in scripts/versions.sh. */
export function pinnedVersion(name: string): string {
  const match = new RegExp(`^${name}=(\\S+)$`, "m").exec(readFileSync(join(root, "scripts/versions.sh"), "utf8"));
  if (!match?.[1]) throw new Error(`scripts/versions.sh pins no ${name}`);
  return match[1];
}

function versionOf(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }).trim();
  } catch {
    return undefined;
  }
}

export function requireDeployTools(): void {
  const fix = "run 'bash scripts/setup.sh' (it builds the engines into ~/.cache/envoy-mesh), then 'source scripts/env.sh'";
  const pulumi = versionOf("pulumi", ["version"]);
  if (pulumi !== `v${pinnedVersion("PULUMI_VERSION")}`) {
    throw new Error(`the deploy lane needs the Pulumi CLI v${pinnedVersion("PULUMI_VERSION")} on PATH (found ${pulumi ?? "none"}): ${fix}`);
  }
  const missing = ["pulumi-resource-kubernetes", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"].filter(
    (tool) => versionOf("sh", ["-c", `command -v ${tool}`]) === undefined,
  );
  if (missing.length > 0) throw new Error(`the deploy lane needs ${missing.join(", ")} on PATH: ${fix}`);
}

/** What the real node (kubelet and its runtime, networking, DNS, policy enforcer) and the image builds need. */
export function requireRealNodeTools(): void {
  const fix = "run 'bash scripts/setup.sh' (Debian packages, and the node's programs built into ~/.cache/envoy-mesh), then 'source scripts/env.sh'";
  const tools = ["kubelet", "kube-proxy", "coredns", "kube-router", "containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "nft", "ipset", "buildah", "debootstrap"];
  const missing = tools.filter((tool) => versionOf("sh", ["-c", `command -v ${tool}`]) === undefined);
  if (missing.length > 0) throw new Error(`the real-node lane needs ${missing.join(", ")} on PATH: ${fix}`);
}
