// The bootstrap: node identity, admin, static resources, the overload manager.
import type { HostPort } from "../../infra/addressing.js";
import { type EnvoyObject, socketAddress, typed } from "./common.js";

export interface BootstrapOptions {
  readonly proxy: string;
  readonly admin: HostPort;
  readonly listeners: EnvoyObject[];
  readonly clusters: EnvoyObject[];
  readonly maxHeapBytes: number;
  readonly maxDownstreamConnections: number;
}

const FIXED_HEAP = "envoy.resource_monitors.fixed_heap";

/**
 * Runtime values every proxy starts with (the admin layer above them can still override).
 * Zipkin spans go out in reports of up to 100 instead of Envoy's default 5: at a few hundred
 * traced requests a second that is one POST to Zipkin per 100 spans, not per 5, and the hop
 * benchmark measured it together with the protobuf encoding (docs/benchmarks.md, fifth run).
 * A quiet proxy still reports every 5 s (tracing.zipkin.flush_interval_ms, default).
 */
const STATIC_RUNTIME = { "tracing.zipkin.min_flush_spans": 100 };

export function makeBootstrap(options: BootstrapOptions): EnvoyObject {
  return {
    // node.cluster names the proxy in Zipkin and in Envoy's own stats.
    node: { id: options.proxy, cluster: options.proxy },
    admin: { address: socketAddress(options.admin) },
    // An admin runtime layer, so a proxy's runtime can be changed through its admin interface
    // (POST /runtime_modify?key=value) without a restart: e.g. `tracing.random_sampling=10` on the
    // edge traces 10 % of requests instead of the configured 100 % (a whole percentage; sidecars and
    // apps follow the edge's B3 sampled flag). Admin is never reachable from the mesh.
    layered_runtime: { layers: [{ name: "static", static_layer: STATIC_RUNTIME }, { name: "admin", admin_layer: {} }] },
    static_resources: { listeners: options.listeners, clusters: options.clusters },
    overload_manager: {
      refresh_interval: "0.25s",
      resource_monitors: [
        {
          name: FIXED_HEAP,
          typed_config: typed("envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig", { max_heap_size_bytes: options.maxHeapBytes }),
        },
        {
          name: "envoy.resource_monitors.global_downstream_max_connections",
          typed_config: typed("envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig", {
            max_active_downstream_connections: options.maxDownstreamConnections,
          }),
        },
      ],
      actions: [
        { name: "envoy.overload_actions.shrink_heap", triggers: [{ name: FIXED_HEAP, threshold: { value: 0.95 } }] },
        { name: "envoy.overload_actions.stop_accepting_requests", triggers: [{ name: FIXED_HEAP, threshold: { value: 0.98 } }] },
      ],
    },
  };
}
