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
  envoy: { cpu: 0.5, memoryMiB: 128 },
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
 * The apps' V8 old-generation limit: half the container's memory. The rest holds
 * the young generation, compiled code, buffers and native allocations, so V8
 * collects its heap well before the kernel would kill the process at the limit.
 */
export function nodeHeapLimitMiB(size: WorkloadSize): number {
  return Math.floor(size.memoryMiB / 2);
}

/** Node's options for an app of this size. */
export function appNodeOptions(size: WorkloadSize): string {
  return `--max-old-space-size=${nodeHeapLimitMiB(size)}`;
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
