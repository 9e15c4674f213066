// The TLS material of each workload of the mesh, from the mesh CA: the same on every
// target, and deterministic (infra/pki), so a second `pulumi up` within a certificate's
// renewal period changes nothing and one after it renews every leaf.
import { type MeshModel, type Workload, workloadIdentity } from "./model.js";
import { type CertificateAuthority, trustBundle, workloadCertificate } from "./pki/index.js";

/** A workload's TLS material, PEM-encoded. */
export interface WorkloadCredentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly trustBundlePem: string;
}

/** Istio's default workload certificate lifetime; renewed by any `pulumi up` past two thirds of it. */
export const DEFAULT_CERTIFICATE_LIFETIME_HOURS = 24;
/** A year: a workload certificate should never outlive the reasons to revoke it by much more. */
export const MAX_CERTIFICATE_LIFETIME_HOURS = 8760;

export function workloadCredentials(model: MeshModel, ca: CertificateAuthority, workload: Workload, lifetimeHours: number, at: Date): WorkloadCredentials {
  const issued = workloadCertificate(ca, workloadIdentity(model, workload), lifetimeHours, at);
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem, trustBundlePem: trustBundle(ca) };
}
