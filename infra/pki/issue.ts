// Leaf certificates: SPIFFE workload identities for mTLS between proxies, and server
// certificates for the public edge. A leaf is a pure function of (CA, identity,
// lifetime, epoch): an `up` inside an epoch reissues the same bytes, the first `up`
// after two thirds of the lifetime issues the next epoch's certificate and key.
import { isIP } from "node:net";
import {
  BasicConstraints,
  ExtendedKeyUsage,
  GeneralName,
  KeyUsage,
  KeyUsageFlags,
  Name,
  SubjectAlternativeName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_clientAuth,
  id_kp_serverAuth,
  type Extension,
} from "@peculiar/asn1-x509";
import { CLOCK_SKEW_MS, requireDate, signingMaterial, type CertificateAuthority } from "./authority.js";
import { deriveP256Key, p256Pkcs8Pem } from "./keys.js";
import { extension, keyIdentifier, keyIdentifierExtensions, serialNumber, signCertificate, toPem } from "./x509.js";

const HOUR_MS = 3_600_000;
const MAX_LIFETIME_HOURS = 8760;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export interface IssuedCertificate {
  readonly certificatePem: string;
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
  readonly privateKeyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`, the Kubernetes-shaped SPIFFE ID. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  if (!TRUST_DOMAIN.test(trustDomain) || trustDomain.length > 255) {
    throw new Error(`the SPIFFE trust domain must be 1 to 255 of lowercase letters, digits, '.', '-' and '_', got ${JSON.stringify(trustDomain)}`);
  }
  requirePathSegment(namespace, "namespace");
  requirePathSegment(serviceAccount, "service account");
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * An X.509-SVID: the URI SAN is the SPIFFE ID, usable by both ends of mTLS
 * (serverAuth + clientAuth). Its subject is empty, as SPIFFE validators look only at the SAN.
 */
export function workloadCertificate(ca: CertificateAuthority, id: string, lifetimeHours: number, at: Date): IssuedCertificate {
  requireSpiffeId(id);
  const san = new SubjectAlternativeName([new GeneralName({ uniformResourceIdentifier: id })]);
  return issue(ca, `workload|${id}`, san, [id_kp_serverAuth, id_kp_clientAuth], lifetimeHours, at);
}

/** A certificate for the public edge: DNS and IP SANs, serverAuth only. */
export function serverCertificate(ca: CertificateAuthority, names: { dns: string[]; ips: string[] }, lifetimeHours: number, at: Date): IssuedCertificate {
  if (names.dns.length + names.ips.length === 0) throw new Error("a server certificate needs at least one DNS name or IP address, got none");
  for (const dns of names.dns) {
    if (!DNS_NAME.test(dns) || dns.length > 253) throw new Error(`expected a DNS name (labels of letters, digits and '-', an optional leading '*.'), got ${JSON.stringify(dns)}`);
  }
  for (const ip of names.ips) {
    if (isIP(ip) === 0) throw new Error(`expected an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
  }
  const san = new SubjectAlternativeName([
    ...names.dns.map((dNSName) => new GeneralName({ dNSName })),
    ...names.ips.map((iPAddress) => new GeneralName({ iPAddress })),
  ]);
  return issue(ca, `server|dns=${names.dns.join(",")}|ip=${names.ips.join(",")}`, san, [id_kp_serverAuth], lifetimeHours, at);
}

/**
 * How long one issue of a leaf lasts before the next `up` reissues it: two thirds of its
 * lifetime, so whatever the time of that `up`, the certificate it replaces has a third left.
 * Epochs start at multiples of this period since 1970.
 */
export function renewalPeriodMs(lifetimeHours: number): number {
  return (lifetimeHours * HOUR_MS * 2) / 3;
}

function issue(ca: CertificateAuthority, identity: string, san: SubjectAlternativeName, usages: string[], lifetimeHours: number, at: Date): IssuedCertificate {
  const authority = signingMaterial(ca);
  if (!Number.isInteger(lifetimeHours) || lifetimeHours < 1 || lifetimeHours > MAX_LIFETIME_HOURS) {
    throw new Error(`lifetimeHours must be a whole number from 1 to ${MAX_LIFETIME_HOURS}, got ${lifetimeHours}`);
  }
  const lifetime = lifetimeHours * HOUR_MS;
  const renewal = renewalPeriodMs(lifetimeHours);
  const epochStart = Math.floor(requireDate(at, "at").getTime() / renewal) * renewal;
  const notBefore = new Date(epochStart - CLOCK_SKEW_MS);
  const notAfter = new Date(epochStart + lifetime);
  if (notAfter > authority.notAfter) {
    throw new Error(`a leaf valid until ${notAfter.toISOString()} would outlive its CA, which expires at ${ca.notAfter.toISOString()}: renew the CA`);
  }
  const binding = `${identity}|lifetime=${lifetimeHours}h|epoch=${epochStart}`;
  const key = deriveP256Key(authority.secret, `leaf|${binding}`);
  const extensions: Extension[] = [
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    // keyAgreement as well, for TLS 1.2 ECDH cipher suites with static keys.
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement)),
    extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage(usages)),
    // Critical because the subject is empty (RFC 5280, 4.2.1.6).
    extension(id_ce_subjectAltName, true, san),
    ...keyIdentifierExtensions(keyIdentifier(key.publicKey), authority.keyId),
  ];
  const der = signCertificate(
    {
      serialNumber: serialNumber("leaf", Buffer.from(authority.keyId).toString("hex"), binding),
      issuer: authority.subject,
      subject: new Name(),
      notBefore,
      notAfter,
      publicKey: key.publicKey,
      extensions,
    },
    authority.signer,
  );
  return { certificatePem: toPem("CERTIFICATE", der), privateKeyPem: p256Pkcs8Pem(key), notBefore, notAfter };
}

function requirePathSegment(segment: string, what: string): void {
  if (!PATH_SEGMENT.test(segment) || segment === "." || segment === "..") {
    throw new Error(`the ${what} must be a SPIFFE path segment (letters, digits, '.', '-', '_'; not '.' or '..'), got ${JSON.stringify(segment)}`);
  }
}

function requireSpiffeId(id: string): void {
  const match = /^spiffe:\/\/([^/]*)(\/.*)?$/.exec(id);
  const path = match?.[2];
  const valid =
    match !== null &&
    id.length <= 2048 &&
    TRUST_DOMAIN.test(match[1]!) &&
    path !== undefined &&
    path.slice(1).split("/").every((segment) => PATH_SEGMENT.test(segment) && segment !== "." && segment !== "..");
  if (!valid) {
    throw new Error(`expected a SPIFFE ID spiffe://<trust domain>/<path> with a non-empty path of segments of letters, digits, '.', '-', '_', got ${JSON.stringify(id)}`);
  }
}
