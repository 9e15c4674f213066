// What every Envoy builder shares: plain proto3-JSON objects (snake_case field names,
// durations as "5s"), typed_config values, socket addresses, and the edge-proxy limits
// that apply to clusters and listeners alike.
import type { HostPort } from "../../infra/addressing.js";

export type EnvoyObject = Record<string, unknown>;

/** An `Any`/`typed_config` value of the given Envoy message type. */
export function typed(typeName: string, body: EnvoyObject = {}): EnvoyObject {
  return { "@type": `type.googleapis.com/${typeName}`, ...body };
}

/** proto3-JSON duration from milliseconds ("5s", "0.25s"). */
export function duration(ms: number): string {
  return `${ms / 1000}s`;
}

export function socketAddress({ address, port }: HostPort): EnvoyObject {
  return { socket_address: { address, port_value: port } };
}

// Edge-proxy best practice: cap what one connection may buffer, both ways.
export const CONNECTION_BUFFER_LIMIT_BYTES = 32_768;
// HTTP/2 flow-control windows and stream cap from Envoy's edge-proxy guidance.
export const HTTP2_LIMITS = {
  max_concurrent_streams: 100,
  initial_stream_window_size: 65_536,
  initial_connection_window_size: 1_048_576,
};
// Below Fastify's 72 s keep-alive timeout, so Envoy never reuses a connection the app is closing.
export const UPSTREAM_IDLE_TIMEOUT_MS = 60_000;
