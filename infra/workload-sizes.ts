// CPU and memory per workload, shared by both targets: Docker turns them into
// limits, Kubernetes into requests (a share of the CPU) and limits. Also the
// rules derived from them: Envoy's worker count and how long a pod takes to stop.

import { ENDPOINT_DRAIN_SECONDS } from "./endpoint-discovery.js";

export interface WorkloadSize {
  /** CPU limit in cores. */
  readonly cpu: number;
  readonly memoryMiB: number;
}

export const WORKLOAD_SIZES = {
  // Each Envoy peaked at 68-77 MiB under every load the benchmark applies (about 60 %).
  envoy: { cpu: 0.5, memoryMiB: 128 },
  // The apps' heap is derived from it (nodeHeapLimits); under load they peak well below 70 % of it.
  app: { cpu: 0.5, memoryMiB: 256 },
  postgres: { cpu: 1, memoryMiB: 512 },
  redis: { cpu: 0.5, memoryMiB: 256 },
  rabbitmq: { cpu: 1, memoryMiB: 512 },
  prometheus: { cpu: 1, memoryMiB: 512 },
  grafana: { cpu: 0.5, memoryMiB: 256 },
  // Its JVM's heap and capped pools (infra/zipkin-storage.ts) with room to spare.
  zipkin: { cpu: 1, memoryMiB: 768 },
} as const satisfies Record<string, WorkloadSize>;

/**
 * Envoy's worker threads: one per whole core of its CPU limit, at least one.
 * Left alone, Envoy starts one worker per core of the host (64 on a 64-core
 * node), each with its own upstream connection pools, whatever its limit.
 */
export function envoyConcurrency(size: WorkloadSize): number {
  return Math.max(1, Math.floor(size.cpu));
}

/**
 * Memory a Node app holds outside V8's heap, measured on the catalog app under
 * load (`npm run bench -- --sections memory`): the node binary's mapped pages
 * (about 52 MiB resident, which the container's memory accounting counts too),
 * native allocations, socket buffers and compiled code (30 to 40 MiB).
 */
export const NODE_OFF_HEAP_MIB = 96;

/**
 * V8's semi-space for the young generation, which holds two of them. Left alone,
 * Node 24 lets it grow to 64 MiB (a 128 MiB young generation), whatever
 * --max-old-space-size says: under load the catalog app's young generation alone
 * took half its container. At 16 MiB the app peaked about 60 MiB lower and, in the
 * same interleaved runs, spent no more CPU per request (a young generation that
 * fits the caches is scavenged faster); 8 MiB cost more CPU.
 */
export const NODE_SEMI_SPACE_MIB = 16;

/** Below this old generation an app's live data (about 25 MiB) has too little room to grow between collections. */
const MIN_OLD_SPACE_MIB = 64;

export interface NodeHeapLimits {
  readonly semiSpaceMiB: number;
  readonly oldSpaceMiB: number;
}

/**
 * The apps' V8 heap, derived from the container's memory: the young generation
 * (two semi-spaces) and the off-heap share come off the top, the old generation
 * gets the rest. So V8 collects (and at worst fails with its own "heap out of
 * memory") before the kernel's OOM killer would act at the limit. The live heap
 * is far below this ceiling; what the apps peak at under load is what the
 * benchmark's memory section reports against the limit.
 */
export function nodeHeapLimits(size: WorkloadSize): NodeHeapLimits {
  const oldSpaceMiB = size.memoryMiB - 2 * NODE_SEMI_SPACE_MIB - NODE_OFF_HEAP_MIB;
  if (oldSpaceMiB < MIN_OLD_SPACE_MIB) {
    throw new Error(`a ${size.memoryMiB} MiB container leaves a Node app ${oldSpaceMiB} MiB of old generation; it needs at least ${MIN_OLD_SPACE_MIB}`);
  }
  return { semiSpaceMiB: NODE_SEMI_SPACE_MIB, oldSpaceMiB };
}

/** Node's options for an app of this size. */
export function appNodeOptions(size: WorkloadSize): string {
  const { semiSpaceMiB, oldSpaceMiB } = nodeHeapLimits(size);
  return `--max-semi-space-size=${semiSpaceMiB} --max-old-space-size=${oldSpaceMiB}`;
}

/** How long an app may drain in-flight requests before it must exit. */
export const APP_SHUTDOWN_TIMEOUT_MS = 10_000;

/** How long an app's process may take to stop before it is killed: its drain, and some to spare. */
export const APP_STOP_GRACE_SECONDS = Math.ceil(APP_SHUTDOWN_TIMEOUT_MS / 1000) + 5;

/** How long an Envoy drains its listeners (Connection: close, HTTP/2 GOAWAY) before it exits. */
export const ENVOY_DRAIN_SECONDS = 5;

/**
 * A pod's stop grace on Kubernetes: callers move away, the app drains and exits,
 * then its sidecar drains and exits; a few seconds to spare.
 */
export const POD_STOP_GRACE_SECONDS = ENDPOINT_DRAIN_SECONDS + APP_STOP_GRACE_SECONDS + ENVOY_DRAIN_SECONDS;
