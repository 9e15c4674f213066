// The TLS material of each workload of the mesh, from the mesh CA: the same on every
// target, and deterministic (infra/pki), so a second `pulumi up` within a certificate's
// renewal period changes nothing and one after it renews every leaf.
import { type MeshModel, type Workload, workloadIdentity } from "./model.js";
import { type CertificateAuthority, serverCertificate, trustBundle, workloadCertificate } from "./pki/index.js";

/** A workload's TLS material, PEM-encoded. */
export interface WorkloadCredentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly trustBundlePem: string;
}

/** The edge's public certificate (a chain, leaf first) and its key, PEM-encoded. */
export interface ServerCredentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Istio's default workload certificate lifetime; renewed by any `pulumi up` past two thirds of it. */
export const DEFAULT_CERTIFICATE_LIFETIME_HOURS = 24;
/** A year: a workload certificate should never outlive the reasons to revoke it by much more. */
export const MAX_CERTIFICATE_LIFETIME_HOURS = 8760;

export function workloadCredentials(model: MeshModel, ca: CertificateAuthority, workload: Workload, lifetimeHours: number, at: Date): WorkloadCredentials {
  const issued = workloadCertificate(ca, workloadIdentity(model, workload), lifetimeHours, at);
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem, trustBundlePem: trustBundle(ca) };
}

/** The names a generated edge certificate is valid for: the host's own, where both targets publish the gateway. */
const GENERATED_EDGE_NAMES = { dns: ["localhost"], ips: ["127.0.0.1", "::1"] };

/** A generated edge certificate for a dev stack, from the mesh CA (which clients then trust). */
export function generatedServerCredentials(ca: CertificateAuthority, lifetimeHours: number, at: Date): ServerCredentials {
  const issued = serverCertificate(ca, GENERATED_EDGE_NAMES, lifetimeHours, at);
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem };
}
