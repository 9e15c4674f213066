// Keys derived from secret material instead of drawn at random, and the two ways a
// CA signs. Both signatures are deterministic: ECDSA with RFC 6979 nonces (noble)
// and RSA PKCS#1 v1.5; so a certificate re-issued from the same inputs is the same.
import { createPrivateKey, sign as nodeSign, type KeyObject } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { mapHashToField } from "@noble/curves/abstract/modular.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import type { Signer } from "./x509.js";

const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
// Separates this module's derivations from any other use of the same secret.
const HKDF_SALT = utf8ToBytes("envoy-mesh pki v1");

export interface P256KeyPair {
  /** The 32-byte scalar. */
  readonly secretKey: Uint8Array;
  /** SEC1 uncompressed point (65 bytes), as a SubjectPublicKeyInfo carries it. */
  readonly publicKey: Uint8Array;
}

/**
 * A P-256 key from HKDF-SHA256 over `secret`, bound to `info` (purpose, identity,
 * epoch). 48 bytes are reduced into [1, n-1] so the bias is negligible (FIPS 186-5 A.2.1).
 */
export function deriveP256Key(secret: Uint8Array, info: string): P256KeyPair {
  const order = p256.Point.Fn.ORDER;
  const okm = hkdf(sha256, secret, HKDF_SALT, utf8ToBytes(info), 48);
  const secretKey = mapHashToField(okm, order);
  return { secretKey, publicKey: p256.getPublicKey(secretKey, false) };
}

export function p256Pkcs8Pem(key: P256KeyPair): string {
  return p256KeyObject(key).export({ type: "pkcs8", format: "pem" }).toString();
}

/** The key as node:crypto holds it, from its JWK form. */
export function p256KeyObject(key: P256KeyPair): KeyObject {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  return createPrivateKey({
    format: "jwk",
    key: { kty: "EC", crv: "P-256", d: b64(key.secretKey), x: b64(key.publicKey.subarray(1, 33)), y: b64(key.publicKey.subarray(33, 65)) },
  });
}

export function p256Signer(secretKey: Uint8Array): Signer {
  return {
    algorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    // noble hashes the message with SHA-256 first (prehash) and answers low-S signatures.
    sign: (tbsDer) => p256.sign(tbsDer, secretKey, { format: "der" }),
  };
}

export function rsaSigner(privateKey: KeyObject): Signer {
  return {
    // RFC 4055: the parameters of sha256WithRSAEncryption are an explicit NULL.
    algorithm: new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null }),
    sign: (tbsDer) => new Uint8Array(nodeSign("sha256", tbsDer, privateKey)),
  };
}
