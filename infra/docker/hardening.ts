// Container hardening shared by every Docker container: a fixed
// non-root user, no capabilities, no privilege escalation, CPU and memory
// limits, and a read-only root filesystem with tmpfs where the image allows.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
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
    cpus: dockerCpus(size.cpu),
    readOnly: options.readOnlyRoot,
    tmpfs: Object.fromEntries((options.tmpfs ?? []).map((path) => [path, "rw,noexec,nosuid,size=64m"])),
    restart: "unless-stopped",
    // Bounded json-file logs so a chatty container cannot fill the disk.
    logOpts: { "max-size": "10m", "max-file": "3" },
  };
}

/** Health-check timing for every container. */
export const HEALTHCHECK_TIMING = { interval: "10s", timeout: "5s", retries: 5, startPeriod: "20s" } as const;

/**
 * How long `pulumi up` waits for a container that is waited for (wait: true) to
 * turn healthy: a first start pulls nothing here but may wait on what it depends
 * on (a store's first initialisation, the services a proxy routes to).
 */
export const HEALTHY_WAIT_SECONDS = 180;

/**
 * A CPU limit spelled exactly as the Docker provider reads it back from the
 * daemon's NanoCPUs: nine decimals; if those hold exactly nine zeros, one decimal
 * ("1.0", "0.5"), else without trailing zeros ("0.25"). Spelled otherwise ("1"),
 * every refresh sees a change, and a change of cpus replaces the container.
 */
export function dockerCpus(cpu: number): string {
  const nineDecimals = cpu.toFixed(9);
  const readBack = (nineDecimals.match(/0/g) ?? []).length === 9 ? cpu.toFixed(1) : nineDecimals.replace(/0+$/, "");
  // The rule rounds some values (0.05 reads back as "0.1"): such a limit would differ for ever.
  if (Number(readBack) !== cpu) throw new Error(`a CPU limit of ${cpu} reads back from Docker as "${readBack}": choose another`);
  return readBack;
}

/**
 * Resource options of every container that runs. The daemon keeps a container's
 * health check from its creation: changing it in place is accepted and ignored,
 * so a changed health check must create a new container.
 */
export function containerOptions(opts: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
  return { ...opts, replaceOnChanges: [...(opts.replaceOnChanges ?? []), "healthcheck"] };
}
