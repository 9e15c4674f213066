// The floor for an Envoy hop on this machine: a bare pass-through pair (one listener
// and one cluster each, HTTP/2 between them, no tracing, no access log, no health
// checks or retries, default stats), and an Envoy that answers every request itself,
// the stand-in upstream every pair in the hop benchmark forwards to.
import { typed, type EnvoyObject } from "../../envoy-templates/builders/index.js";
import type { HostPort } from "../../infra/addressing.js";


function httpListener(name: string, at: HostPort, routes: EnvoyObject[], transportSocket?: EnvoyObject): EnvoyObject {
  const hcm = typed("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", {
    stat_prefix: name,
    codec_type: "AUTO",
    route_config: { name, virtual_hosts: [{ name, domains: ["*"], routes }] },
    http_filters: [{ name: "envoy.filters.http.router", typed_config: typed("envoy.extensions.filters.http.router.v3.Router", {}) }],
  });
  return {
    name,
    address: { socket_address: { address: at.address, port_value: at.port } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }], ...(transportSocket ? { transport_socket: transportSocket } : {}) }],
  };
}

function cluster(name: string, to: HostPort, http2: boolean, transportSocket?: EnvoyObject): EnvoyObject {
  return {
    name,
    ...(transportSocket ? { transport_socket: transportSocket } : {}),
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: to.address, port_value: to.port } } } }] }] },
    ...(http2
      ? {
          typed_extension_protocol_options: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed("envoy.extensions.upstreams.http.v3.HttpProtocolOptions", { explicit_http_config: { http2_protocol_options: {} } }),
          },
        }
      : {}),
  };
}

function bootstrap(id: string, admin: HostPort, listeners: EnvoyObject[], clusters: EnvoyObject[]): EnvoyObject {
  return {
    node: { id, cluster: id },
    admin: { address: { socket_address: { address: admin.address, port_value: admin.port } } },
    static_resources: { listeners, clusters },
  };
}

const forwardAll = (cluster: string): EnvoyObject[] => [{ match: { prefix: "/" }, route: { cluster, timeout: "10s" } }];

/** TLS between the pair's Envoys: the mesh's own transport sockets (builders/tls.ts), nothing else of the mesh. */
export interface PairTls {
  readonly client: EnvoyObject;
  readonly server: EnvoyObject;
}

/**
 * The pair's two Envoys: `front` takes the client's HTTP/1.1 and forwards over HTTP/2 to `back`,
 * which forwards to `upstream`; with `tls`, the hop between them is the mesh's mutual TLS.
 */
export function bareEnvoyPair(front: { listen: HostPort; admin: HostPort }, back: { listen: HostPort; admin: HostPort }, upstream: HostPort, tls?: PairTls): { front: EnvoyObject; back: EnvoyObject } {
  return {
    front: bootstrap("bare-front", front.admin, [httpListener("bare_front", front.listen, forwardAll("back"))], [cluster("back", back.listen, true, tls?.client)]),
    back: bootstrap("bare-back", back.admin, [httpListener("bare_back", back.listen, forwardAll("upstream"), tls?.server)], [cluster("upstream", upstream, false)]),
  };
}

/** An Envoy answering `body` (JSON, 200) to every request on each of `listen`: no app logic on the far side of any pair. */
export function answeringEnvoy(listen: readonly HostPort[], admin: HostPort, body: string): EnvoyObject {
  const answer = [
    {
      match: { prefix: "/" },
      direct_response: { status: 200, body: { inline_string: body } },
      response_headers_to_add: [{ header: { key: "content-type", value: "application/json" } }],
    },
  ];
  return bootstrap("upstream", admin, listen.map((at, i) => httpListener(`upstream_${i}`, at, answer)), []);
}
