// The Docker target's identity writer (infra/docker/identity-volume.ts), its script run for
// real against a directory a real Envoy reads its certificates from: the first run gives a
// working identity directory, a second run with renewed certificates swaps them under the
// running Envoy, which presents the new certificate without a restart.
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { identityFileNames, identityFiles, renderProxyConfig } from "../../envoy-templates/index.js";
import { identitySwapScript } from "../../infra/docker/identity-volume.js";
import { PORTS, buildMeshModel } from "../../infra/model.js";
import { generatedCa } from "../../infra/pki/index.js";
import { type WorkloadCredentials, workloadCredentials } from "../../infra/workload-credentials.js";
import { type RunningEnvoy, startEnvoy } from "../support/envoy.js";
import { waitFor } from "../support/net.js";
import { loopbackAddressing, loopbackPod } from "./loopback.js";
import { randomBlockPrefix } from "../../infra/local/layout.js";

const work = mkdtempSync(join(tmpdir(), "mesh-identity-swap-"));
const incoming = join(work, "incoming");
const block = randomBlockPrefix();
const model = buildMeshModel();
// The sidecar's identity directory is where the writer's volume would be: <root>/catalog-sidecar-0.
const root = join(work, "volumes");
const target = join(root, "catalog-sidecar-0");
const addressing = loopbackAddressing(block, { dataStoreHost: () => "127.0.0.1", identityRoot: root });
const ca = generatedCa(randomBytes(32).toString("base64"), new Date());
const GID = process.getgid?.() ?? 0;

/** What the writer does in its container: the files arrive in `incoming`, the script swaps them in. */
function writeAsDockerWould(credentials: WorkloadCredentials): void {
  rmSync(incoming, { recursive: true, force: true });
  mkdirSync(incoming, { recursive: true });
  // The SDS files name the identity directory: here the test's, in a container CONTAINER_IDENTITY_DIR.
  for (const [file, content] of Object.entries(identityFiles(target, credentials))) writeFileSync(join(incoming, file), content, { mode: 0o400 });
  execFileSync("bash", ["-c", identitySwapScript(identityFileNames(false), GID, incoming, target)], { stdio: "pipe" });
}

function presentedSerial(): Promise<string> {
  const client = workloadCredentials(model, ca, "orders", 24, new Date());
  return new Promise((resolve, reject) => {
    const socket = connect({ host: loopbackPod(block, "catalog-sidecar", 0), port: PORTS.sidecarIngress, ca: client.trustBundlePem, cert: client.certificatePem, key: client.privateKeyPem, checkServerIdentity: () => undefined });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once("error", reject);
  });
}

describe("the Docker identity writer's swap, under a real Envoy", () => {
  let envoy: RunningEnvoy | undefined;
  afterAll(async () => {
    await envoy?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("fills an empty volume with links through ..data, files readable by Envoy's group only", () => {
    mkdirSync(target, { recursive: true });
    writeAsDockerWould(workloadCredentials(model, ca, "catalog", 24, new Date()));
    const entries = readdirSync(target).sort();
    expect(entries.filter((e) => !e.startsWith(".."))).toEqual([...identityFileNames(false)].sort());
    expect(entries.filter((e) => e.startsWith("..") && e !== "..data")).toHaveLength(1);
    for (const file of identityFileNames(false)) {
      expect(lstatSync(join(target, file)).isSymbolicLink(), file).toBe(true);
      expect(readlinkSync(join(target, file))).toBe(`..data/${file}`);
      expect(statSync(join(target, file)).mode & 0o777, file).toBe(0o440);
    }
  });

  it("swaps renewed certificates under the running Envoy: presented at once, no restart, the old version gone", async () => {
    envoy = await startEnvoy(renderProxyConfig(model, "catalog-sidecar", addressing));
    const before = await presentedSerial();
    const pid = envoy.process.child.pid;
    // A renewal: another lifetime gives another certificate and key, valid now.
    writeAsDockerWould(workloadCredentials(model, ca, "catalog", 48, new Date()));
    await waitFor("the renewed certificate presented", async () => (await presentedSerial()) !== before, 10_000, 200);
    expect(envoy.process.child.pid).toBe(pid);
    expect(envoy.process.child.exitCode).toBeNull();
    expect(readdirSync(target).filter((e) => e.startsWith("..") && e !== "..data")).toHaveLength(1);
  });
});
