// Container hardening shared by every Docker container (DESIGN §5): a fixed
// non-root user, no capabilities, no privilege escalation, CPU and memory
// limits, and a read-only root filesystem with tmpfs where the image allows.
import type * as docker from "@pulumi/docker";
import type { PinnedImage } from "../versions.js";
import type { WorkloadSize } from "../workload-sizes.js";

export interface HardeningOptions {
  /**
   * False only where the image writes outside its volumes at start. A read-only root takes
   * no uploads: generated files go in config volumes (config-volumes.ts).
   */
  readonly readOnlyRoot: boolean;
  /** Writable scratch paths (tmpfs, noexec). */
  readonly tmpfs?: readonly string[];
}

export type HardenedArgs = Pick<
  docker.ContainerArgs,
  "user" | "capabilities" | "securityOpts" | "memory" | "memorySwap" | "cpus" | "readOnly" | "tmpfs" | "restart" | "logOpts"
>;

export function hardened(image: PinnedImage, size: WorkloadSize, options: HardeningOptions): HardenedArgs {
  return {
    user: `${image.uid}:${image.gid}`,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
    // The Docker provider counts memory in MiB; swap equal to memory means none.
    memory: size.memoryMiB,
    memorySwap: size.memoryMiB,
    cpus: String(size.cpu),
    readOnly: options.readOnlyRoot,
    tmpfs: Object.fromEntries((options.tmpfs ?? []).map((path) => [path, "rw,noexec,nosuid,size=64m"])),
    restart: "unless-stopped",
    // Bounded json-file logs so a chatty container cannot fill the disk.
    logOpts: { "max-size": "10m", "max-file": "3" },
  };
}

/** Health-check timing for every container. */
export const HEALTHCHECK_TIMING = { interval: "10s", timeout: "5s", retries: 5, startPeriod: "20s" } as const;
