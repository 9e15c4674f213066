// Mutual TLS between proxies. Certificates reach Envoy through SDS from files in the
// proxy's identity directory, which Envoy watches: a renewed certificate swapped into
// that directory (a Kubernetes Secret volume update, a file swap elsewhere) is picked
// up by the running proxy, without a restart.
import { toYaml } from "../../infra/yaml.js";
import { type EnvoyObject, typed } from "./common.js";

/** The files of a proxy's identity directory. */
export const IDENTITY_FILES = {
  certificate: "cert.pem",
  privateKey: "key.pem",
  trustBundle: "ca.pem",
  /** SDS resources naming the files above (static: only the PEM files change). */
  certificateSds: "certificate.sds.yaml",
  trustSds: "trust.sds.yaml",
  /** The edge only: the certificate its public HTTPS listener presents, and its SDS file. */
  serverCertificate: "server-cert.pem",
  serverPrivateKey: "server-key.pem",
  serverCertificateSds: "server-certificate.sds.yaml",
} as const;

const SECRET = { certificate: "workload_certificate", trust: "trust_bundle", server: "server_certificate" } as const;

/**
 * The mesh's own hops run TLS 1.3 only: both ends are ours, and 1.3's one-round-trip
 * handshake and fixed AEAD suites leave nothing to negotiate down.
 */
const MESH_TLS_PARAMS = { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3" };

const SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

function sdsFromFile(name: string, dir: string, file: string): EnvoyObject {
  return {
    name,
    sds_config: {
      resource_api_version: "V3",
      // Watching the directory for moves catches both a file renamed into place and
      // Kubernetes' swap of the `..data` link in a Secret volume.
      path_config_source: { path: `${dir}/${file}`, watched_directory: { path: dir } },
    },
  };
}

/**
 * The SDS files of an identity directory, by file name (the PEM files are the PKI's);
 * with `server`, also the edge's public certificate's.
 */
export function identitySdsFiles(dir: string, server = false): Record<string, string> {
  const resource = (body: EnvoyObject) => toYaml({ resources: [{ "@type": SECRET_TYPE, ...body }] }, { sortKeys: true });
  // Certificate and key are re-read together when anything moves in the directory.
  const certificate = (name: string, chain: string, key: string) =>
    resource({ name, tls_certificate: { certificate_chain: { filename: `${dir}/${chain}` }, private_key: { filename: `${dir}/${key}` }, watched_directory: { path: dir } } });
  return {
    ...(server ? { [IDENTITY_FILES.serverCertificateSds]: certificate(SECRET.server, IDENTITY_FILES.serverCertificate, IDENTITY_FILES.serverPrivateKey) } : {}),
    [IDENTITY_FILES.certificateSds]: certificate(SECRET.certificate, IDENTITY_FILES.certificate, IDENTITY_FILES.privateKey),
    [IDENTITY_FILES.trustSds]: resource({
      name: SECRET.trust,
      validation_context: { trusted_ca: { filename: `${dir}/${IDENTITY_FILES.trustBundle}` }, watched_directory: { path: dir } },
    }),
  };
}

function commonContext(dir: string, alpn: readonly string[], validation: EnvoyObject): EnvoyObject {
  return {
    tls_params: MESH_TLS_PARAMS,
    alpn_protocols: alpn,
    tls_certificate_sds_secret_configs: [sdsFromFile(SECRET.certificate, dir, IDENTITY_FILES.certificateSds)],
    ...validation,
  };
}

/**
 * A mesh ingress: TLS 1.3, and a client certificate from the mesh's CA required (any
 * other, an expired one, or none ends the handshake). Which callers may go on is the
 * RBAC filter's decision, by the certificate's identity.
 */
export function meshServerTls(identityDir: string): EnvoyObject {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", {
      require_client_certificate: true,
      common_tls_context: commonContext(identityDir, ["h2", "http/1.1"], {
        validation_context_sds_secret_config: sdsFromFile(SECRET.trust, identityDir, IDENTITY_FILES.trustSds),
      }),
    }),
  };
}

/** A caller's side of a mesh hop: its own certificate, and the callee's identity verified. */
export function meshClientTls(identityDir: string, peerIdentity: string): EnvoyObject {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", {
      common_tls_context: commonContext(identityDir, ["h2"], {
        combined_validation_context: {
          default_validation_context: { match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: peerIdentity } }] },
          validation_context_sds_secret_config: sdsFromFile(SECRET.trust, identityDir, IDENTITY_FILES.trustSds),
        },
      }),
    }),
  };
}

/**
 * The edge's public HTTPS: TLS 1.2 at least (clients the mesh does not control), HTTP/2
 * or HTTP/1.1 by ALPN, the server certificate from the edge's identity directory.
 */
export function publicServerTls(identityDir: string): EnvoyObject {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", {
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: "TLSv1_2" },
        alpn_protocols: ["h2", "http/1.1"],
        tls_certificate_sds_secret_configs: [sdsFromFile(SECRET.server, identityDir, IDENTITY_FILES.serverCertificateSds)],
      },
    }),
  };
}

/** One caller a service admits, by the identity its certificate carries. */
export interface AuthorizedCaller {
  readonly name: string;
  readonly identity: string;
}

/**
 * The RBAC filter of a mesh ingress: only the named callers get through; anyone else
 * (a valid mesh certificate of another workload) gets 403. Envoy counts both outcomes
 * as http.<stat prefix>.rbac.allowed and .denied.
 */
export function callerAuthorizationFilter(callers: readonly AuthorizedCaller[]): EnvoyObject {
  const policies = Object.fromEntries(
    callers.map((caller) => [
      `caller-${caller.name}`,
      { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { exact: caller.identity } } }] },
    ]),
  );
  return {
    name: "envoy.filters.http.rbac",
    // No policy at all (a worker nobody calls) denies every request.
    typed_config: typed("envoy.extensions.filters.http.rbac.v3.RBAC", { rules: { action: "ALLOW", policies } }),
  };
}
