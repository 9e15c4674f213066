// What a proxy's identity directory holds, on every target: its certificate and key,
// the trust bundle, and the SDS files through which Envoy reads and watches them.
import type { WorkloadCredentials } from "../infra/workload-credentials.js";
import { IDENTITY_FILES, identitySdsFiles } from "./builders/index.js";

/** Every file of the identity directory `dir`, by file name. */
export function identityFiles(dir: string, credentials: WorkloadCredentials): Record<string, string> {
  return {
    [IDENTITY_FILES.certificate]: credentials.certificatePem,
    [IDENTITY_FILES.privateKey]: credentials.privateKeyPem,
    [IDENTITY_FILES.trustBundle]: credentials.trustBundlePem,
    ...identitySdsFiles(dir),
  };
}

/** Files only the proxy may read (the private key). */
export const PRIVATE_IDENTITY_FILES: ReadonlySet<string> = new Set([IDENTITY_FILES.privateKey]);
