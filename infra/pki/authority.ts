// The mesh's certificate authority: either generated from a seed (and so the same on
// every `pulumi up` of an epoch), or an organisation's own CA, checked before use.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  BasicConstraints,
  Certificate,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  type Name,
} from "@peculiar/asn1-x509";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { deriveP256Key, p256Signer, rsaSigner } from "./keys.js";
import {
  OID_COMMON_NAME,
  OID_ORGANIZATION,
  distinguishedName,
  exactSubject,
  extension,
  keyIdentifier,
  keyIdentifierExtensions,
  serialNumber,
  signCertificate,
  toPem,
  type Signer,
} from "./x509.js";

const DAY_MS = 24 * 3_600_000;
/** A generated CA is replaced every 5 years and lives 10, so the previous one outlives every leaf it signed. */
const CA_RENEWAL_MS = 5 * 365 * DAY_MS;
const CA_LIFETIME_MS = 2 * CA_RENEWAL_MS;
/** Certificates start this much before their epoch, for clocks that run behind. */
export const CLOCK_SKEW_MS = 5 * 60_000;
const MIN_SEED_LENGTH = 16;
const MIN_RSA_BITS = 2048;

export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly notAfter: Date;
}

/** What issuing needs from a CA; kept off the object so that logging or serialising a CA never shows its key. */
export interface SigningMaterial {
  readonly subject: Name;
  readonly keyId: Uint8Array;
  readonly notAfter: Date;
  readonly signer: Signer;
  /**
   * Leaf keys are derived from this: the CA key in a form that depends on the key alone
   * (not on how a library encodes it), the P-256 scalar or the RSA key's PKCS#1 DER.
   */
  readonly secret: Uint8Array;
  readonly bundle: readonly string[];
}

const materials = new WeakMap<CertificateAuthority, SigningMaterial>();

export function signingMaterial(ca: CertificateAuthority): SigningMaterial {
  const material = materials.get(ca);
  if (!material) throw new Error("expected a CertificateAuthority from generatedCa() or providedCa(), got another object");
  return material;
}

/**
 * The generated mesh CA of the 5-year epoch that holds `at`: a P-256 key derived from
 * `seed` and the epoch, self-signed, CA:TRUE with pathlen 0. Its trust bundle also holds
 * the previous epoch's CA, which leaves issued before the switch still chain to.
 */
export function generatedCa(seed: string, at: Date, organisation = "envoy-mesh"): CertificateAuthority {
  if (seed.length < MIN_SEED_LENGTH) {
    throw new Error(`the CA seed must be at least ${MIN_SEED_LENGTH} characters (every key derives from it), got ${seed.length}`);
  }
  if (organisation.length === 0 || organisation.length > 64) {
    throw new Error(`the CA organisation must be 1 to 64 characters (X.520 ub-organization-name), got ${organisation.length}`);
  }
  const epoch = Math.floor(requireDate(at, "at").getTime() / CA_RENEWAL_MS);
  const current = selfSignedCa(seed, epoch, organisation);
  const previous = selfSignedCa(seed, epoch - 1, organisation);
  const ca: CertificateAuthority = { certificatePem: current.certificatePem, notAfter: current.material.notAfter };
  materials.set(ca, { ...current.material, bundle: [current.certificatePem, previous.certificatePem] });
  return ca;
}

function selfSignedCa(seed: string, epoch: number, organisation: string) {
  const key = deriveP256Key(utf8ToBytes(seed), `ca|epoch=${epoch}`);
  const keyId = keyIdentifier(key.publicKey);
  const subject = distinguishedName([
    [OID_ORGANIZATION, organisation],
    [OID_COMMON_NAME, `envoy-mesh CA ${epoch}`],
  ]);
  const epochStart = epoch * CA_RENEWAL_MS;
  const notAfter = new Date(epochStart + CA_LIFETIME_MS);
  const signer = p256Signer(key.secretKey);
  const der = signCertificate(
    {
      serialNumber: serialNumber("ca", organisation, String(epoch), Buffer.from(keyId).toString("hex")),
      issuer: subject,
      subject,
      notBefore: new Date(epochStart - CLOCK_SKEW_MS),
      notAfter,
      publicKey: key.publicKey,
      extensions: [
        extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
        extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
        ...keyIdentifierExtensions(keyId, keyId),
      ],
    },
    signer,
  );
  const certificatePem = toPem("CERTIFICATE", der);
  return { certificatePem, material: { subject, keyId, notAfter, signer, secret: key.secretKey, bundle: [certificatePem] } };
}

/**
 * An organisation's own CA: a PEM certificate and its PEM private key (PKCS#8, SEC1 EC
 * P-256 or PKCS#1/PKCS#8 RSA of 2048 bits or more). Every check names what is wrong
 * and never echoes key material.
 */
export function providedCa(certificatePem: string, privateKeyPem: string, at: Date): CertificateAuthority {
  requireDate(at, "at");
  const certificate = parseCertificate(certificatePem);
  // node reports no subject at all for an empty one.
  const label = certificate.subject ? `the CA certificate "${certificate.subject.replace(/\n/g, ", ")}"` : "the CA certificate (empty subject)";
  const parsed = AsnConvert.parse(certificate.raw, Certificate);
  const extensions = parsed.tbsCertificate.extensions ?? [];
  const basicConstraints = extensions.find((e) => e.extnID === id_ce_basicConstraints);
  if (!basicConstraints || !AsnConvert.parse(basicConstraints.extnValue, BasicConstraints).cA) {
    throw new Error(`${label} is not a CA: its basicConstraints extension does not say cA: TRUE`);
  }
  const keyUsage = extensions.find((e) => e.extnID === id_ce_keyUsage);
  if (keyUsage && !(AsnConvert.parse(keyUsage.extnValue, KeyUsage).toNumber() & KeyUsageFlags.keyCertSign)) {
    throw new Error(`${label} may not sign certificates: its keyUsage lacks keyCertSign`);
  }
  if (at < certificate.validFromDate) {
    throw new Error(`${label} is not valid yet at ${at.toISOString()}: it starts at ${certificate.validFromDate.toISOString()}`);
  }
  if (at > certificate.validToDate) {
    throw new Error(`${label} expired at ${certificate.validToDate.toISOString()} (checked at ${at.toISOString()})`);
  }
  const privateKey = parsePrivateKey(privateKeyPem);
  const { signer, secret } = caKey(privateKey);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(`the CA private key does not match ${label}: its public key is another one`);
  }
  const subject = exactSubject(new Uint8Array(certificate.raw));
  if (!subject) throw new Error(`${label} has a subject name that cannot be re-encoded byte for byte, so leaves could not name it as their issuer`);
  const ski = extensions.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  // A validator matches the leaves' authorityKeyIdentifier against the CA's own SKI when it has one.
  const keyId = ski
    ? new Uint8Array(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer)
    : keyIdentifier(new Uint8Array(parsed.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey));
  const pem = certificate.toString();
  const ca: CertificateAuthority = { certificatePem: pem, notAfter: certificate.validToDate };
  materials.set(ca, {
    subject,
    keyId,
    notAfter: certificate.validToDate,
    signer,
    secret,
    bundle: [pem],
  });
  return ca;
}

/** The PEM bundle validators trust: the current and previous generated CA, or the provided CA. */
export function trustBundle(ca: CertificateAuthority): string {
  return signingMaterial(ca).bundle.join("");
}

function parseCertificate(pem: string): X509Certificate {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (blocks !== 1) {
    throw new Error(`the CA certificate must be exactly one PEM block "-----BEGIN CERTIFICATE-----" (the issuing CA alone), found ${blocks}`);
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw new Error("the CA certificate's PEM block does not decode to an X.509 certificate");
  }
}

function parsePrivateKey(pem: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new Error("the CA private key is encrypted: pass it decrypted (openssl pkey -in key.pem)");
  }
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch {
    // The library's message could quote the input, which may be a key: say only what was expected.
    throw new Error("the CA private key is not a PEM private key (expected PKCS#8 \"PRIVATE KEY\", SEC1 \"EC PRIVATE KEY\" or PKCS#1 \"RSA PRIVATE KEY\")");
  }
}

function caKey(key: KeyObject): { signer: Signer; secret: Uint8Array } {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "ec" && details.namedCurve === "prime256v1") {
    const d = key.export({ format: "jwk" }).d;
    if (!d) throw new Error("expected the CA's EC private key to export its scalar d, got none");
    const secretKey = new Uint8Array(Buffer.from(d, "base64url"));
    return { signer: p256Signer(secretKey), secret: secretKey };
  }
  if (key.asymmetricKeyType === "rsa" && (details.modulusLength ?? 0) >= MIN_RSA_BITS) {
    return { signer: rsaSigner(key), secret: new Uint8Array(key.export({ type: "pkcs1", format: "der" })) };
  }
  const found =
    key.asymmetricKeyType === "ec"
      ? `EC on curve ${details.namedCurve}`
      : key.asymmetricKeyType === "rsa"
        ? `RSA of ${details.modulusLength} bits`
        : String(key.asymmetricKeyType);
  throw new Error(`the CA private key is ${found}: expected EC P-256 or RSA of at least ${MIN_RSA_BITS} bits`);
}

export function requireDate(at: Date, name: string): Date {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new Error(`${name} must be a valid Date, got ${String(at)}`);
  return at;
}
