// The PKI checked by other implementations: openssl verifies the chains (strict
// X.509 rules, TLS purposes, expiry), openssl makes the organisation CAs that
// providedCa takes, and node:tls runs mutual TLS with the workload certificates.
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer } from "node:tls";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { afterAll, describe, expect, it } from "vitest";
import { generatedCa, providedCa, serverCertificate, spiffeId, trustBundle, workloadCertificate, type IssuedCertificate } from "./index.js";

const SEED = "openssl-test-seed-0123456789";
const HOUR = 3_600_000;
const NOW = new Date();
const CATALOG = spiffeId("mesh.local", "default", "catalog");
const CART = spiffeId("mesh.local", "default", "cart");

const dir = mkdtempSync(join(tmpdir(), "pki-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string): string {
  const path = join(dir, `file-${files++}.pem`);
  writeFileSync(path, content);
  return path;
}

function openssl(...args: string[]): { ok: boolean; output: string } {
  const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (run.error) throw new Error(`openssl could not run (${run.error.message}): run "bash scripts/setup.sh" first`);
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** openssl's verdict on a leaf, with the strict X.509 checks on. */
function verifyLeaf(bundle: string, leaf: IssuedCertificate, purpose: "sslclient" | "sslserver") {
  return openssl("verify", "-x509_strict", "-CAfile", file(bundle), "-purpose", purpose, file(leaf.certificatePem));
}

// openssl's v3_ca has no keyUsage, which its own -x509_strict refuses in a CA.
const CA_KEY_USAGE = ["keyUsage=critical,keyCertSign,cRLSign"];

/** A self-signed CA made by openssl, valid 30 days from now: `keyArgs` choose the key, `extensions` add to openssl's v3_ca ones. */
function opensslCa(keyArgs: string[], extensions = CA_KEY_USAGE): { certificatePem: string; privateKeyPem: string; keyPath: string } {
  const keyPath = join(dir, `key-${files++}.pem`);
  const certPath = join(dir, `cert-${files++}.pem`);
  const made = openssl("req", "-x509", "-nodes", ...keyArgs, "-keyout", keyPath, "-out", certPath, "-days", "30", "-utf8", "-subj", "/C=DE/O=Acme Grüße GmbH/CN=Acme Mesh CA", ...extensions.flatMap((e) => ["-addext", e]));
  if (!made.ok) throw new Error(`openssl req failed: ${made.output}`);
  return { certificatePem: readFileSync(certPath, "utf8"), privateKeyPem: readFileSync(keyPath, "utf8"), keyPath };
}

const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const RSA2048 = ["-newkey", "rsa:2048"];

describe("openssl verify", () => {
  const ca = generatedCa(SEED, NOW);
  const bundle = trustBundle(ca);

  it("accepts a workload certificate for both ends of TLS, and a server certificate for servers", () => {
    const workload = workloadCertificate(ca, CATALOG, 24, NOW);
    expect(verifyLeaf(bundle, workload, "sslclient")).toEqual({ ok: true, output: expect.stringMatching(/: OK\n$/) });
    expect(verifyLeaf(bundle, workload, "sslserver").ok).toBe(true);
    const server = serverCertificate(ca, { dns: ["localhost"], ips: ["127.0.0.1"] }, 720, NOW);
    expect(verifyLeaf(bundle, server, "sslserver").ok).toBe(true);
    expect(verifyLeaf(bundle, server, "sslclient")).toEqual({ ok: false, output: expect.stringContaining("unsuitable certificate purpose") });
  });

  it("accepts the CA itself under the strict rules", () => {
    expect(openssl("verify", "-x509_strict", "-CAfile", file(ca.certificatePem), file(ca.certificatePem)).ok).toBe(true);
  });

  it("accepts, right after the CA's epoch changes, a leaf of the previous CA through the new bundle", () => {
    const renewal = 5 * 365 * 24 * HOUR;
    const switchover = Math.ceil(NOW.getTime() / renewal) * renewal;
    const oldLeaf = workloadCertificate(generatedCa(SEED, new Date(switchover - HOUR)), CATALOG, 24, new Date(switchover - HOUR));
    const newCa = generatedCa(SEED, new Date(switchover + HOUR));
    const attime = String((switchover + HOUR) / 1000);
    const verifyAfter = (trusted: string) => openssl("verify", "-x509_strict", "-attime", attime, "-CAfile", file(trusted), "-purpose", "sslclient", file(oldLeaf.certificatePem));
    expect(verifyAfter(trustBundle(newCa)).ok).toBe(true);
    expect(verifyAfter(newCa.certificatePem).ok).toBe(false);
  });

  it("rejects a leaf of another seed's CA", () => {
    const stranger = workloadCertificate(generatedCa(`${SEED}-other`, NOW), CATALOG, 24, NOW);
    expect(verifyLeaf(bundle, stranger, "sslclient")).toEqual({ ok: false, output: expect.stringContaining("unable to get local issuer certificate") });
  });

  it("rejects a leaf issued in the past with a short lifetime as expired", () => {
    const expired = workloadCertificate(ca, CATALOG, 1, new Date(NOW.getTime() - 3 * HOUR));
    expect(expired.notAfter.getTime()).toBeLessThan(NOW.getTime());
    expect(verifyLeaf(bundle, expired, "sslclient")).toEqual({ ok: false, output: expect.stringContaining("certificate has expired") });
  });
});

describe("a provided CA", () => {
  it.each([
    ["EC P-256, PKCS#8 key", P256, "pkcs8", "ecdsa-with-SHA256"],
    ["EC P-256, SEC1 key", P256, "sec1", "ecdsa-with-SHA256"],
    ["RSA 2048, PKCS#8 key", RSA2048, "pkcs8", "sha256WithRSAEncryption"],
    ["RSA 2048, PKCS#1 key", RSA2048, "pkcs1", "sha256WithRSAEncryption"],
  ])("%s issues leaves openssl accepts, deterministically, named by its exact subject", (_what, keyArgs, keyFormat, signatureAlgorithm) => {
    const made = opensslCa(keyArgs);
    const key =
      keyFormat === "sec1" ? openssl("ec", "-in", made.keyPath).output : keyFormat === "pkcs1" ? openssl("rsa", "-traditional", "-in", made.keyPath).output : made.privateKeyPem;
    expect(key).toMatch(keyFormat === "sec1" ? /BEGIN EC PRIVATE KEY/ : keyFormat === "pkcs1" ? /BEGIN RSA PRIVATE KEY/ : /BEGIN PRIVATE KEY/);
    // openssl's CA starts the second it is made: `at` is taken after it.
    const at = new Date();
    const ca = providedCa(made.certificatePem, key, at);
    const leaf = workloadCertificate(ca, CATALOG, 24, at);
    expect(trustBundle(ca)).toBe(made.certificatePem);
    expect(verifyLeaf(trustBundle(ca), leaf, "sslclient").ok).toBe(true);
    expect(openssl("x509", "-noout", "-text", "-in", file(leaf.certificatePem)).output).toContain(`Signature Algorithm: ${signatureAlgorithm}`);
    expect(workloadCertificate(providedCa(made.certificatePem, key, at), CATALOG, 24, at)).toEqual(leaf);
    const caSubject = Buffer.from(AsnConvert.serialize(AsnConvert.parse(new X509Certificate(made.certificatePem).raw, Certificate).tbsCertificate.subject));
    expect(Buffer.from(new X509Certificate(leaf.certificatePem).raw).includes(caSubject)).toBe(true);
  });

  describe("is refused, naming the problem", () => {
    const good = opensslCa(P256);
    const label = `the CA certificate "C=DE, O=Acme Grüße GmbH, CN=Acme Mesh CA"`;

    it("when the key belongs to another certificate", () => {
      expect(() => providedCa(good.certificatePem, opensslCa(P256).privateKeyPem, new Date())).toThrow(`the CA private key does not match ${label}: its public key is another one`);
    });

    it("when the certificate is not a CA, or may not sign certificates", () => {
      const leaf = opensslCa(P256, [...CA_KEY_USAGE, "basicConstraints=critical,CA:FALSE"]);
      expect(() => providedCa(leaf.certificatePem, leaf.privateKeyPem, new Date())).toThrow(`${label} is not a CA: its basicConstraints extension does not say cA: TRUE`);
      const signingOnly = opensslCa(P256, ["keyUsage=critical,digitalSignature"]);
      expect(() => providedCa(signingOnly.certificatePem, signingOnly.privateKeyPem, new Date())).toThrow(`${label} may not sign certificates: its keyUsage lacks keyCertSign`);
    });

    it("when the CA has expired or is not valid yet at `at`", () => {
      const later = new Date(Date.now() + 31 * 24 * HOUR);
      expect(() => providedCa(good.certificatePem, good.privateKeyPem, later)).toThrow(new RegExp(`^${label} expired at \\S+ \\(checked at ${later.toISOString()}\\)$`));
      const earlier = new Date(Date.now() - 24 * HOUR);
      expect(() => providedCa(good.certificatePem, good.privateKeyPem, earlier)).toThrow(`${label} is not valid yet at ${earlier.toISOString()}`);
    });

    it.each([
      ["Ed25519", ["-newkey", "ed25519"], "ed25519"],
      ["EC P-384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "EC on curve secp384r1"],
      ["RSA 1024", ["-newkey", "rsa:1024"], "RSA of 1024 bits"],
    ])("when the key is %s", (_what, keyArgs, found) => {
      const made = opensslCa(keyArgs);
      expect(() => providedCa(made.certificatePem, made.privateKeyPem, new Date())).toThrow(`the CA private key is ${found}: expected EC P-256 or RSA of at least 2048 bits`);
    });

    it("when the PEM is garbage, a chain, or an encrypted key, without echoing the key", () => {
      expect(() => providedCa("not a certificate", good.privateKeyPem, new Date())).toThrow(`the CA certificate must be exactly one PEM block "-----BEGIN CERTIFICATE-----" (the issuing CA alone), found 0`);
      expect(() => providedCa(good.certificatePem + good.certificatePem, good.privateKeyPem, new Date())).toThrow(/found 2$/);
      expect(() => providedCa("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", good.privateKeyPem, new Date())).toThrow("the CA certificate's PEM block does not decode to an X.509 certificate");
      const keyBody = good.privateKeyPem.split("\n")[1]!;
      const garbled = good.privateKeyPem.replace(keyBody, keyBody.slice(0, 20));
      expect(() => providedCa(good.certificatePem, garbled, new Date())).toThrow(/^the CA private key is not a PEM private key \(expected PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"\)$/);
      const encrypted = openssl("pkey", "-in", good.keyPath, "-aes256", "-passout", "pass:secret").output;
      expect(() => providedCa(good.certificatePem, encrypted, new Date())).toThrow("the CA private key is encrypted: pass it decrypted (openssl pkey -in key.pem)");
    });
  });
});

describe("mutual TLS with workload certificates", () => {
  const ca = generatedCa(SEED, NOW);
  const bundle = trustBundle(ca);

  /** One handshake on loopback; each side answers the peer's SAN it accepted, or why it refused. */
  async function handshake(server: IssuedCertificate, client: IssuedCertificate, expectedServer: string): Promise<{ server: string; client: string }> {
    const tlsServer = createServer({ cert: server.certificatePem, key: server.privateKeyPem, ca: bundle, requestCert: true, rejectUnauthorized: true });
    const serverOutcome = new Promise<string>((resolve) => {
      tlsServer.on("secureConnection", (socket) => {
        resolve(`accepted ${socket.getPeerX509Certificate()?.subjectAltName}`);
        socket.end();
      });
      tlsServer.on("tlsClientError", (error: NodeJS.ErrnoException) => resolve(`refused: ${error.code}`));
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
    const { port } = tlsServer.address() as AddressInfo;
    const socket = connect({
      host: "127.0.0.1",
      port,
      cert: client.certificatePem,
      key: client.privateKeyPem,
      ca: bundle,
      // A SPIFFE peer is named by its URI SAN, not by a host name.
      checkServerIdentity: (_host, peer) => (peer.subjectaltname === `URI:${expectedServer}` ? undefined : new Error(`expected the server ${expectedServer}, got ${peer.subjectaltname}`)),
    });
    const clientOutcome = new Promise<string>((resolve) => {
      socket.on("secureConnect", () => resolve(`accepted ${socket.getPeerX509Certificate()?.subjectAltName}`));
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(`refused: ${error.code}`));
    });
    try {
      return { server: await serverOutcome, client: await clientOutcome };
    } finally {
      socket.destroy();
      await new Promise((resolve) => tlsServer.close(resolve));
    }
  }

  it("succeeds between two workloads of the mesh CA, each seeing the other's SPIFFE ID", async () => {
    const outcome = await handshake(workloadCertificate(ca, CATALOG, 24, NOW), workloadCertificate(ca, CART, 24, NOW), CATALOG);
    expect(outcome).toEqual({ server: `accepted URI:${CART}`, client: `accepted URI:${CATALOG}` });
  });

  it("is refused by the server for a client of another CA, and by the client for a server of another CA", async () => {
    const stranger = generatedCa(`${SEED}-other`, NOW);
    const clientRefused = await handshake(workloadCertificate(ca, CATALOG, 24, NOW), workloadCertificate(stranger, CART, 24, NOW), CATALOG);
    expect(clientRefused.server).toMatch(/^refused: /);
    const serverRefused = await handshake(workloadCertificate(stranger, CATALOG, 24, NOW), workloadCertificate(ca, CART, 24, NOW), CATALOG);
    expect(serverRefused.client).toBe("refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });
});
