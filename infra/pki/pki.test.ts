// The PKI's pure checks: determinism, the epoch rules, and the certificates as
// node:crypto reads them. openssl, provided CAs and a real TLS handshake are in
// openssl.test.ts (they start processes).
import { X509Certificate, createPrivateKey, createPublicKey, verify } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { generatedCa, serverCertificate, spiffeId, trustBundle, workloadCertificate } from "./index.js";
import { p256KeyObject, p256Signer } from "./keys.js";

const SEED = "test-seed-0123456789abcdef";
const AT = new Date("2026-03-01T10:00:00Z");
const HOUR = 3_600_000;
const CATALOG = "spiffe://mesh.local/ns/default/sa/catalog";

const pemBlocks = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];

describe("ECDSA signing", () => {
  // RFC 6979, A.2.5: P-256 with SHA-256.
  const secretKey = Buffer.from("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", "hex");
  const order = p256.Point.Fn.ORDER;

  it.each([
    ["sample", "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716", "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"],
    ["test", "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367", "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"],
  ])("uses RFC 6979 nonces: the signature of %j is the RFC's (s taken into the low half)", (message, r, s) => {
    const signature = p256.Signature.fromBytes(p256Signer(secretKey).sign(utf8ToBytes(message)), "der");
    const rfcS = BigInt(`0x${s}`);
    expect(signature.r).toBe(BigInt(`0x${r}`));
    expect(signature.s).toBe(rfcS > order / 2n ? order - rfcS : rfcS);
  });

  it("answers the same DER twice, and node:crypto verifies it", () => {
    const message = utf8ToBytes("a TBSCertificate");
    const signer = p256Signer(secretKey);
    const first = signer.sign(message);
    expect(Buffer.from(signer.sign(message)).equals(Buffer.from(first))).toBe(true);
    const publicKey = createPublicKey(p256KeyObject({ secretKey, publicKey: p256.getPublicKey(secretKey, false) }));
    expect(verify("sha256", message, publicKey, first)).toBe(true);
  });
});

describe("the generated CA", () => {
  const ca = generatedCa(SEED, AT);
  const certificate = new X509Certificate(ca.certificatePem);

  it("is a self-signed P-256 CA with pathlen 0, valid 10 years from its 5-year epoch", () => {
    expect(certificate.ca).toBe(true);
    expect(certificate.checkIssued(certificate)).toBe(true);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(certificate.subject).toMatch(/^O=envoy-mesh\nCN=envoy-mesh CA \d+$/);
    expect(certificate.validToDate.getTime() - certificate.validFromDate.getTime()).toBe(10 * 365 * 24 * HOUR + 5 * 60_000);
    expect(certificate.validFromDate <= AT && AT.getTime() - certificate.validFromDate.getTime() <= 5 * 365 * 24 * HOUR).toBe(true);
    expect(ca.notAfter).toEqual(certificate.validToDate);
  });

  it("is the same for any moment of its epoch and another one in the next", () => {
    expect(generatedCa(SEED, new Date(AT.getTime() + 30 * 24 * HOUR)).certificatePem).toBe(ca.certificatePem);
    const next = generatedCa(SEED, new Date(certificate.validFromDate.getTime() + 5 * 60_000 + 5 * 365 * 24 * HOUR));
    expect(next.certificatePem).not.toBe(ca.certificatePem);
    // The next epoch's bundle still trusts this CA: leaves it issued are still out.
    expect(pemBlocks(trustBundle(next))).toEqual([next.certificatePem, ca.certificatePem]);
  });

  it("takes its organisation from the caller, and differs by seed", () => {
    expect(new X509Certificate(generatedCa(SEED, AT, "Acme").certificatePem).subject).toMatch(/^O=Acme\n/);
    expect(generatedCa(`${SEED}-other`, AT).certificatePem).not.toBe(ca.certificatePem);
  });

  it("refuses a short seed and an invalid date, saying what was expected", () => {
    expect(() => generatedCa("short", AT)).toThrow("the CA seed must be at least 16 characters (every key derives from it), got 5");
    expect(() => generatedCa(SEED, new Date("nonsense"))).toThrow("at must be a valid Date, got Invalid Date");
    expect(() => generatedCa(SEED, AT, "")).toThrow(/organisation must be 1 to 64 characters/);
  });

  it("keeps its key off the object", () => {
    expect(Object.keys(ca).sort()).toEqual(["certificatePem", "notAfter"]);
    expect(() => trustBundle({ certificatePem: ca.certificatePem, notAfter: ca.notAfter })).toThrow(/expected a CertificateAuthority from generatedCa\(\) or providedCa\(\)/);
  });
});

describe("workload certificates", () => {
  const ca = generatedCa(SEED, AT);
  const caCertificate = new X509Certificate(ca.certificatePem);
  const issued = workloadCertificate(ca, CATALOG, 24, AT);
  const leaf = new X509Certificate(issued.certificatePem);

  it("are SPIFFE SVIDs the CA issued and signed, holding the key they come with", () => {
    expect(leaf.checkIssued(caCertificate)).toBe(true);
    expect(leaf.verify(caCertificate.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    // An empty subject: node reports none.
    expect(leaf.subject).toBeUndefined();
    expect(leaf.issuer).toBe(caCertificate.subject);
    expect(leaf.subjectAltName).toBe(`URI:${CATALOG}`);
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(issued.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(leaf.checkPrivateKey(createPrivateKey(issued.privateKeyPem))).toBe(true);
  });

  it("have a positive serial number of at most 20 bytes, distinct per identity", () => {
    expect(leaf.serialNumber).toMatch(/^[0-7][0-9A-F]{1,39}$/);
    const other = new X509Certificate(workloadCertificate(ca, "spiffe://mesh.local/ns/default/sa/cart", 24, AT).certificatePem);
    expect(other.serialNumber).not.toBe(leaf.serialNumber);
    expect(other.serialNumber).not.toBe(caCertificate.serialNumber);
  });

  it("follow the epoch rule: renewed every two thirds of the lifetime, backdated 5 minutes", () => {
    const renewal = 16 * HOUR;
    const epochStart = Math.floor(AT.getTime() / renewal) * renewal;
    expect(issued.notBefore).toEqual(new Date(epochStart - 5 * 60_000));
    expect(issued.notAfter).toEqual(new Date(epochStart + 24 * HOUR));
    expect(leaf.validFromDate).toEqual(issued.notBefore);
    expect(leaf.validToDate).toEqual(issued.notAfter);
  });

  it("are byte-identical for any moment of an epoch, and change key and certificate at its end exactly", () => {
    const renewal = 16 * HOUR;
    const epochStart = Math.floor(AT.getTime() / renewal) * renewal;
    const lastMoment = new Date(epochStart + renewal - 1);
    expect(workloadCertificate(ca, CATALOG, 24, new Date(epochStart))).toEqual(issued);
    expect(workloadCertificate(ca, CATALOG, 24, lastMoment)).toEqual(issued);
    // At the last moment of the epoch a third of the lifetime (and a millisecond) is left.
    expect(issued.notAfter.getTime() - lastMoment.getTime()).toBe(8 * HOUR + 1);
    const renewed = workloadCertificate(ca, CATALOG, 24, new Date(epochStart + renewal));
    expect(renewed.certificatePem).not.toBe(issued.certificatePem);
    expect(renewed.privateKeyPem).not.toBe(issued.privateKeyPem);
    expect(renewed.notBefore).toEqual(new Date(epochStart + renewal - 5 * 60_000));
  });

  it("differ in key by identity, lifetime and CA", () => {
    const keys = [
      issued,
      workloadCertificate(ca, "spiffe://mesh.local/ns/default/sa/cart", 24, AT),
      workloadCertificate(ca, CATALOG, 48, AT),
      workloadCertificate(generatedCa(`${SEED}-other`, AT), CATALOG, 24, AT),
    ].map((c) => c.privateKeyPem);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("do not chain to another seed's CA", () => {
    const stranger = new X509Certificate(generatedCa(`${SEED}-other`, AT).certificatePem);
    expect(leaf.verify(stranger.publicKey)).toBe(false);
  });

  it("are refused for a lifetime that is no whole number of hours in 1..8760, or one that outlives the CA", () => {
    for (const hours of [0, 1.5, 8761, Number.NaN]) {
      expect(() => workloadCertificate(ca, CATALOG, hours, AT)).toThrow(`lifetimeHours must be a whole number from 1 to 8760, got ${hours}`);
    }
    const late = new Date(ca.notAfter.getTime() - 100 * 24 * HOUR);
    expect(() => workloadCertificate(ca, CATALOG, 8760, late)).toThrow(/would outlive its CA, which expires at .*: renew the CA/);
  });

  it("are refused for what is not a SPIFFE ID", () => {
    for (const id of ["https://mesh.local/ns/a/sa/b", "spiffe://mesh.local", "spiffe://Mesh.local/ns/a", "spiffe://mesh.local/ns//sa", "spiffe://mesh.local/ns/../sa"]) {
      expect(() => workloadCertificate(ca, id, 24, AT)).toThrow(`expected a SPIFFE ID spiffe://<trust domain>/<path> with a non-empty path of segments of letters, digits, '.', '-', '_', got ${JSON.stringify(id)}`);
    }
  });
});

describe("server certificates", () => {
  const ca = generatedCa(SEED, AT);
  const issued = serverCertificate(ca, { dns: ["localhost", "*.mesh.example"], ips: ["127.0.0.1", "::1"] }, 720, AT);
  const leaf = new X509Certificate(issued.certificatePem);

  it("name their DNS and IP SANs, for serverAuth only", () => {
    expect(leaf.subjectAltName).toBe("DNS:localhost, DNS:*.mesh.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    // checkHost answers the SAN that matched.
    expect(leaf.checkHost("api.mesh.example")).toBe("*.mesh.example");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
    expect(serverCertificate(ca, { dns: ["localhost", "*.mesh.example"], ips: ["127.0.0.1", "::1"] }, 720, AT)).toEqual(issued);
  });

  it("are refused without names or with malformed ones", () => {
    expect(() => serverCertificate(ca, { dns: [], ips: [] }, 24, AT)).toThrow("a server certificate needs at least one DNS name or IP address, got none");
    expect(() => serverCertificate(ca, { dns: ["bad_name.example"], ips: [] }, 24, AT)).toThrow(`expected a DNS name (labels of letters, digits and '-', an optional leading '*.'), got "bad_name.example"`);
    expect(() => serverCertificate(ca, { dns: [], ips: ["10.0.0.256"] }, 24, AT)).toThrow(`expected an IPv4 or IPv6 address, got "10.0.0.256"`);
  });
});

describe("spiffeId", () => {
  it("builds the Kubernetes-shaped ID", () => {
    expect(spiffeId("mesh.local", "default", "catalog")).toBe(CATALOG);
  });

  it("names what is wrong with a part", () => {
    expect(() => spiffeId("Mesh.Local", "default", "catalog")).toThrow(`the SPIFFE trust domain must be 1 to 255 of lowercase letters, digits, '.', '-' and '_', got "Mesh.Local"`);
    expect(() => spiffeId("", "default", "catalog")).toThrow(/trust domain must be 1 to 255/);
    expect(() => spiffeId("mesh.local", "a/b", "catalog")).toThrow(`the namespace must be a SPIFFE path segment (letters, digits, '.', '-', '_'; not '.' or '..'), got "a/b"`);
    expect(() => spiffeId("mesh.local", "default", "..")).toThrow(/the service account must be a SPIFFE path segment/);
  });
});
