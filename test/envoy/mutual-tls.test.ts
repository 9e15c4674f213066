// Mutual TLS and caller authorisation between real Envoys, from the rendered configs:
// an edge, catalog's and orders' sidecars on loopback addresses of their own, each
// with an identity directory from the local runner's identities (a CA of the run).
// Plaintext, a certificate of another CA, an expired one and a caller the model does
// not name are all refused; renewed certificates reach running proxies under load.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type RequestOptions, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkServerIdentity, connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityFiles, renderProxyConfig } from "../../envoy-templates/index.js";
import { LocalIdentities, localProxyDir } from "../../infra/local/identities.js";
import { writeIdentityDir } from "../../infra/local/swapped-dir.js";
import { PORTS, buildMeshModel, getService, type ServiceName, type Workload } from "../../infra/model.js";
import { generatedCa } from "../../infra/pki/index.js";
import { type WorkloadCredentials, workloadCredentials } from "../../infra/workload-credentials.js";
import { type RunningEnvoy, startEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { loopbackAddressing, loopbackPod } from "./loopback.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";

const block = randomBlockPrefix();
const model = buildMeshModel();
const identityRoot = mkdtempSync(join(tmpdir(), "mesh-identity-"));
const addressing = loopbackAddressing(block, {
  serviceHost: (service) => loopbackPod(block, `${service}-sidecar`, 0),
  dataStoreHost: () => "127.0.0.1",
  identityRoot,
});
const identities = new LocalIdentities(identityRoot, model);
const pod = (service: ServiceName) => loopbackPod(block, `${service}-sidecar`, 0);
const edgePod = loopbackPod(block, "edge", 0);
const HOUR_MS = 3_600_000;

/** A stand-in app answering 200 with the path it was asked for. */
function startApp(address: string): Promise<Server> {
  const server = createServer((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ path: req.url })));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORTS.app, address, () => resolve(server));
  });
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS request over a fresh connection. */
function httpsGet(options: RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, timeout: 5000, ...options }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** One HTTPS request to a sidecar's ingress, presenting `client` (or no certificate). */
function callIngress(service: ServiceName, path: string, client: WorkloadCredentials | undefined): Promise<Answer> {
  return httpsGet({
    host: pod(service),
    port: PORTS.sidecarIngress,
    path,
    ca: identities.trustBundlePem(),
    ...(client ? { cert: client.certificatePem, key: client.privateKeyPem } : {}),
    // Mesh certificates name a SPIFFE id, not a host: the chain is what is checked here.
    checkServerIdentity: () => undefined,
  });
}

/** The certificate a sidecar's ingress presents now (PEM-less: its serial number). */
function presentedSerial(service: ServiceName, client: WorkloadCredentials): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: pod(service),
      port: PORTS.sidecarIngress,
      ca: identities.trustBundlePem(),
      cert: client.certificatePem,
      key: client.privateKeyPem,
      checkServerIdentity: () => undefined,
      ALPNProtocols: ["http/1.1"],
    });
    socket.once("secureConnect", () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once("error", reject);
  });
}

const credentials = (workload: Workload) => workloadCredentials(model, identities.ca, workload, identities.lifetimeHours, new Date());

async function stat(envoy: RunningEnvoy, name: string): Promise<number> {
  const res = await fetch(`${envoy.adminUrl}/stats?filter=${encodeURIComponent(`^${name}$`)}`);
  const match = /: (\d+)/.exec(await res.text());
  return match ? Number(match[1]) : Number.NaN;
}

async function edgeGet(path: string): Promise<number> {
  const res = await fetch(`http://${edgePod}:${PORTS.edgeHttp}${path}`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

describe("mutual TLS and caller authorisation between real Envoys", () => {
  const apps: Server[] = [];
  const envoys: Partial<Record<"edge" | "catalog" | "orders", RunningEnvoy>> = {};

  beforeAll(async () => {
    for (const service of ["catalog", "orders"] as const) apps.push(await startApp(pod(service)));
    for (const [key, proxy] of [["catalog", "catalog-sidecar"], ["orders", "orders-sidecar"], ["edge", "edge"]] as const) {
      identities.write(proxy, 0);
      envoys[key] = await startEnvoy(renderProxyConfig(model, proxy, addressing));
    }
    await waitFor("the edge to route to catalog over mutual TLS", async () => (await edgeGet("/api/products").catch(() => 0)) === 200);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(Object.values(envoys).map((e) => e.stop()));
    await Promise.all(apps.map((a) => new Promise((resolve) => a.close(resolve))));
    rmSync(identityRoot, { recursive: true, force: true });
  });

  it("carries the edge's requests to a sidecar over mutual TLS", async () => {
    expect(await edgeGet("/api/products/7")).toBe(200);
    expect(await stat(envoys.edge!, "cluster.catalog.ssl.handshake")).toBeGreaterThan(0);
    expect(await stat(envoys.catalog!, "listener.ingress_http.ssl.handshake")).toBeGreaterThan(0);
  });

  it("refuses plaintext at a sidecar's ingress", async () => {
    await expect(fetch(`http://${pod("catalog")}:${PORTS.sidecarIngress}/products`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
  });

  it("refuses a connection without a client certificate", async () => {
    await expect(callIngress("catalog", "/products", undefined)).rejects.toThrow();
  });

  it("refuses a client certificate from another CA, even naming an allowed caller", async () => {
    const stranger = generatedCa(randomBytes(32).toString("base64"), new Date());
    const forged = workloadCredentials(model, stranger, "orders", 24, new Date());
    await expect(callIngress("catalog", "/products", forged)).rejects.toThrow();
  });

  it("refuses an expired certificate of an allowed caller", async () => {
    const expired = workloadCredentials(model, identities.ca, "orders", 1, new Date(Date.now() - 3 * HOUR_MS));
    await expect(callIngress("catalog", "/products", expired)).rejects.toThrow();
  });

  it("answers 403 in the mesh's JSON to a valid certificate of a workload the model does not allow, and counts it", async () => {
    const before = await stat(envoys.catalog!, "http.ingress_http.rbac.denied");
    const answer = await callIngress("catalog", "/products", credentials("cart"));
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({ error: "forbidden", message: expect.any(String) });
    // The worker is called by nobody: even the edge is refused there.
    expect(getService(model, "order-worker").routes).toHaveLength(0);
    expect(await stat(envoys.catalog!, "http.ingress_http.rbac.denied")).toBe(before + 1);
  });

  it("serves the callers the model names: the edge, and orders (directly and through its sidecar)", async () => {
    expect((await callIngress("catalog", "/products/1", credentials("edge"))).status).toBe(200);
    expect((await callIngress("catalog", "/products/1", credentials("orders"))).status).toBe(200);
    expect((await callIngress("orders", "/orders", credentials("edge"))).status).toBe(200);
    // orders' egress for catalog, on its pod loopback: its sidecar's certificate opens catalog's ingress.
    const res = await fetch(`http://${pod("orders")}:${getService(model, "catalog").egressPort}/products/3`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: "/products/3" });
  });

  it("serves the public API over HTTPS with a certificate for the loopback, from the CA clients are told to trust: HTTP/2 by ALPN, TLS 1.2 at least", async () => {
    const negotiated = await new Promise<{ alpn: string | false | null; names: string | undefined }>((resolve, reject) => {
      const socket = connect({ host: edgePod, port: PORTS.edgeHttps, ca: identities.trustBundlePem(), servername: "localhost", ALPNProtocols: ["h2", "http/1.1"] });
      socket.once("secureConnect", () => {
        resolve({ alpn: socket.alpnProtocol, names: socket.getPeerCertificate().subjectaltname });
        socket.end();
      });
      socket.once("error", reject);
    });
    expect(negotiated.alpn).toBe("h2");
    expect(negotiated.names).toContain("DNS:localhost");
    expect(negotiated.names).toContain("IP Address:127.0.0.1");
    // TLS 1.1 is refused (the client allows it at the lowest security level, so the refusal is the edge's).
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect({ host: edgePod, port: PORTS.edgeHttps, ca: identities.trustBundlePem(), servername: "localhost", minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" });
        socket.once("secureConnect", () => resolve(socket.end()));
        socket.once("error", reject);
      }),
    ).rejects.toThrow();
    // An HTTP/1.1 client over HTTPS, the certificate checked by name.
    const res = await httpsGet({ host: edgePod, port: PORTS.edgeHttps, path: "/api/products/5", ca: identities.trustBundlePem(), servername: "localhost", checkServerIdentity: (_host, cert) => checkServerIdentity("localhost", cert) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ path: "/products/5" });
  });

  it("takes renewed certificates under load: no failed request, no restart, the new certificate presented", async () => {
    const edgeUptime = await stat(envoys.edge!, "server.uptime");
    const before = await presentedSerial("catalog", credentials("orders"));
    const updates = await stat(envoys.catalog!, "listener.ingress_http.server_ssl_socket_factory.ssl_context_update_by_sds");

    let failed = 0;
    let served = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const status = await edgeGet("/api/products/1").catch(() => 0);
        if (status === 200) served++;
        else failed++;
      }
    };
    const load = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 1500));
    // Renewed: every proxy's certificate and key replaced at once, in place. A later renewal
    // period's certificate would not be valid yet, so the renewal issues now with a longer
    // lifetime (another period, so another key and certificate, valid from now).
    for (const [proxy, workload] of [["edge", "edge"], ["catalog-sidecar", "catalog"], ["orders-sidecar", "orders"]] as const) {
      const dir = localProxyDir(identityRoot, proxy, 0);
      writeIdentityDir(dir, identityFiles(dir, workloadCredentials(model, identities.ca, workload, 2 * identities.lifetimeHours, new Date())));
    }
    await waitFor("catalog's ingress to present its renewed certificate", async () => (await presentedSerial("catalog", credentials("orders"))) !== before, 10_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await Promise.all(load);

    expect(failed).toBe(0);
    expect(served).toBeGreaterThan(50);
    expect(await stat(envoys.catalog!, "listener.ingress_http.server_ssl_socket_factory.ssl_context_update_by_sds")).toBeGreaterThan(updates);
    // Same processes, uptime still counting from their start.
    for (const envoy of Object.values(envoys)) expect(envoy.process.child.exitCode).toBeNull();
    expect(await stat(envoys.edge!, "server.uptime")).toBeGreaterThanOrEqual(edgeUptime);
    // New connections from the edge use its renewed certificate too.
    expect(await edgeGet("/api/products/2")).toBe(200);
  });
});

describe("an edge told to redirect plain HTTP (mesh's gateway setting)", () => {
  const redirectBlock = randomBlockPrefix();
  const redirectModel = buildMeshModel({}, { gateway: { plainHttp: "redirect", httpsPort: 18443 } });
  const root = mkdtempSync(join(tmpdir(), "mesh-identity-"));
  const redirectAddressing = loopbackAddressing(redirectBlock, { dataStoreHost: () => "127.0.0.1", identityRoot: root });
  let edge: RunningEnvoy | undefined;

  afterAll(async () => {
    await edge?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("answers every plain request with a redirect to the same URL over HTTPS, at the published HTTPS port", async () => {
    new LocalIdentities(root, redirectModel).write("edge", 0);
    edge = await startEnvoy(renderProxyConfig(redirectModel, "edge", redirectAddressing));
    const edgeAddress = loopbackPod(redirectBlock, "edge", 0);
    const res = await fetch(`http://${edgeAddress}:${PORTS.edgeHttp}/api/products?page=2`, { redirect: "manual", signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe(`https://${edgeAddress}:18443/api/products?page=2`);
  });
});
