// X.509 building blocks: names, extensions, the TBSCertificate and its signing, PEM.
// Every field is a function of its inputs (no clock, no randomness), so the same
// inputs give the same DER, and Pulumi sees no change on the next `up`.
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  Certificate,
  Extension,
  Extensions,
  KeyIdentifier,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectKeyIdentifier,
} from "@peculiar/asn1-x509";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";

const ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const PRIME256V1_DER = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
export const OID_COMMON_NAME = "2.5.4.3";
export const OID_ORGANIZATION = "2.5.4.10";

/** Signs a TBSCertificate's DER and names the algorithm it used. */
export interface Signer {
  readonly algorithm: AlgorithmIdentifier;
  sign(tbsDer: Uint8Array): Uint8Array;
}

export interface CertificateFields {
  readonly serialNumber: Uint8Array;
  readonly issuer: Name;
  readonly subject: Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject's P-256 public key, SEC1 uncompressed. */
  readonly publicKey: Uint8Array;
  readonly extensions: Extension[];
}

/** A name of UTF8String attributes, one per RDN, in the order given. */
export function distinguishedName(attributes: ReadonlyArray<readonly [oid: string, value: string]>): Name {
  return new Name(
    attributes.map(([type, value]) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })])),
  );
}

export function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the public key bits. */
export function keyIdentifier(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).slice(0, 20);
}

export function keyIdentifierExtensions(subjectKeyId: Uint8Array, authorityKeyId: Uint8Array): Extension[] {
  return [
    extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(subjectKeyId)),
    extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) })),
  ];
}

/**
 * A serial number hashed from what makes the certificate distinct: 16 bytes, the top
 * bit cleared so the INTEGER is positive and the next one set so it is minimally
 * encoded (RFC 5280 allows at most 20 octets).
 */
export function serialNumber(...parts: string[]): Uint8Array {
  const digest = sha256(concatBytes(...parts.map((part) => utf8ToBytes(`${part.length}:${part}`)))).slice(0, 16);
  digest[0] = (digest[0]! & 0x7f) | 0x40;
  return digest;
}

/** Builds the certificate, signs it, and answers its DER. */
export function signCertificate(fields: CertificateFields, signer: Signer): Uint8Array {
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(fields.serialNumber),
    signature: signer.algorithm,
    issuer: fields.issuer,
    validity: new Validity({ notBefore: fields.notBefore, notAfter: fields.notAfter }),
    subject: fields.subject,
    subjectPublicKeyInfo: new SubjectPublicKeyInfo({
      algorithm: new AlgorithmIdentifier({ algorithm: ID_EC_PUBLIC_KEY, parameters: toArrayBuffer(PRIME256V1_DER) }),
      subjectPublicKey: toArrayBuffer(fields.publicKey),
    }),
    extensions: new Extensions(fields.extensions),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbsCertificate));
  const certificate = new Certificate({
    tbsCertificate,
    signatureAlgorithm: signer.algorithm,
    signatureValue: toArrayBuffer(signer.sign(tbsDer)),
  });
  return new Uint8Array(AsnConvert.serialize(certificate));
}

export function toPem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * The subject Name of a certificate, exactly as its DER encodes it. Leaves name their
 * issuer with these very bytes, so chain building never depends on how a validator
 * compares names; the answer is null when the library would re-encode it differently.
 */
export function exactSubject(certificateDer: Uint8Array): Name | null {
  const [tbs] = derChildren(certificateDer, 0);
  const fields = derChildren(certificateDer, tbs!.start);
  // version [0] is optional; then serialNumber, signature, issuer, validity, subject.
  const subject = fields[certificateDer[fields[0]!.start] === 0xa0 ? 5 : 4]!;
  const original = certificateDer.subarray(subject.start, subject.end);
  const name = AsnConvert.parse(original, Name);
  return Buffer.from(AsnConvert.serialize(name)).equals(original) ? name : null;
}

interface DerElement {
  readonly start: number;
  readonly end: number;
}

/** The elements inside the constructed element at `offset` (definite lengths, as DER has). */
function derChildren(der: Uint8Array, offset: number): DerElement[] {
  const outer = derHeader(der, offset);
  const children: DerElement[] = [];
  for (let at = outer.contentStart; at < outer.end; ) {
    const child = derHeader(der, at);
    children.push({ start: at, end: child.end });
    at = child.end;
  }
  return children;
}

function derHeader(der: Uint8Array, offset: number): { contentStart: number; end: number } {
  const first = der[offset + 1];
  if (first === undefined) throw new Error(`expected a DER element at byte ${offset}, found the end of the input`);
  if (first < 0x80) return { contentStart: offset + 2, end: offset + 2 + first };
  let length = 0;
  const octets = first & 0x7f;
  for (let i = 0; i < octets; i++) length = length * 256 + der[offset + 2 + i]!;
  return { contentStart: offset + 2 + octets, end: offset + 2 + octets + length };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}
