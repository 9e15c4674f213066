// CPU and memory per workload, shared by both targets: Docker turns them into
// limits, Kubernetes into requests (a quarter of the CPU) and limits.

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
  zipkin: { cpu: 1, memoryMiB: 512 },
} as const satisfies Record<string, WorkloadSize>;

/** How long an app may drain in-flight requests before it must exit. */
export const APP_SHUTDOWN_TIMEOUT_MS = 10_000;
