// What a proxy's identity directory holds, on every target: its certificate and key,
// the trust bundle, and the SDS files through which Envoy reads and watches them; the
// edge's also holds the certificate of its public HTTPS listener.
import { EDGE_PROXY, type MeshModel, type Workload } from "../infra/model.js";
import type { CertificateAuthority } from "../infra/pki/index.js";
import { type ServerCredentials, type WorkloadCredentials, generatedServerCredentials, workloadCredentials } from "../infra/workload-credentials.js";
import { IDENTITY_FILES, identitySdsFiles } from "./builders/index.js";

/** Every file of the identity directory `dir`, by file name. */
export function identityFiles(dir: string, credentials: WorkloadCredentials, server?: ServerCredentials): Record<string, string> {
  return {
    [IDENTITY_FILES.certificate]: credentials.certificatePem,
    [IDENTITY_FILES.privateKey]: credentials.privateKeyPem,
    [IDENTITY_FILES.trustBundle]: credentials.trustBundlePem,
    ...(server ? { [IDENTITY_FILES.serverCertificate]: server.certificatePem, [IDENTITY_FILES.serverPrivateKey]: server.privateKeyPem } : {}),
    ...identitySdsFiles(dir, server !== undefined),
  };
}

/** The names of an identity directory's files; `server`: the edge's, with its public certificate. */
export function identityFileNames(server: boolean): string[] {
  const files = [IDENTITY_FILES.certificate, IDENTITY_FILES.privateKey, IDENTITY_FILES.trustBundle, IDENTITY_FILES.certificateSds, IDENTITY_FILES.trustSds];
  return server ? [...files, IDENTITY_FILES.serverCertificate, IDENTITY_FILES.serverPrivateKey, IDENTITY_FILES.serverCertificateSds] : files;
}

/** Files only the proxy may read (the private keys). */
export const PRIVATE_IDENTITY_FILES: ReadonlySet<string> = new Set([IDENTITY_FILES.privateKey, IDENTITY_FILES.serverPrivateKey]);

/**
 * A workload's identity directory as of `at`, issued by `ca`: the edge's also holds the
 * certificate of its public HTTPS listener, issued by the same CA for the host's own names.
 */
export function workloadIdentityFiles(model: MeshModel, ca: CertificateAuthority, workload: Workload, dir: string, lifetimeHours: number, at: Date): Record<string, string> {
  const server = workload === EDGE_PROXY ? generatedServerCredentials(ca, lifetimeHours, at) : undefined;
  return identityFiles(dir, workloadCredentials(model, ca, workload, lifetimeHours, at), server);
}
