// The PKI's public face: certificate authorities, trust bundles and leaves.
export { generatedCa, providedCa, trustBundle, type CertificateAuthority } from "./authority.js";
export { renewalPeriodMs, serverCertificate, spiffeId, workloadCertificate, type IssuedCertificate } from "./issue.js";
