// The Docker target under Pulumi's mocks: what it declares, not what Docker does.
import { beforeAll, describe, expect, it, vi } from "vitest";
import { identityFileNames } from "../../envoy-templates/index.js";
import { CONTAINER_IDENTITY_DIR } from "../../infra/addressing.js";
import { parse } from "yaml";
import { GRAFANA_DASHBOARD_ARTIFACTS, GRAFANA_PROVISIONING_ARTIFACTS, PROMETHEUS_ARTIFACTS, PROMETHEUS_CONFIG_PATH, artifactsIn } from "../../infra/artifacts/placement.js";
import { dockerAddressing } from "../../infra/docker/addressing.js";
import { renderArtifacts } from "../../infra/artifacts/index.js";
import { adminPorts, parseStackSettings } from "../../infra/config.js";
import { deployMesh } from "../../infra/mesh-program.js";
import { upstreamsReadyProbe } from "../../infra/docker/envoy-proxy.js";
import { HEALTHY_WAIT_SECONDS, dockerCpus } from "../../infra/docker/hardening.js";
import { operatorSubnet } from "../../infra/docker/operator-network.js";
import { buildMeshModel, DATA_STORES, PORTS, SERVICE_NAMES } from "../../infra/model.js";
import { POSTGRES_INIT_SCRIPT_NAME, postgresInitScript } from "../../infra/postgres-init.js";
import { MOCK_SECRET_PREFIX, type MockRun, dependsOnName, named, ofType, runMesh, secretValue, visibleInputs } from "./support.js";
import { captureResources, containsSecret, isSecret, maskSecrets, type RawResource } from "../../tools/resource-graph.js";
import { APP_SHUTDOWN_TIMEOUT_MS, APP_STOP_GRACE_SECONDS, WORKLOAD_SIZES, envoyConcurrency } from "../../infra/workload-sizes.js";

type Port = { internal: number; external: number; ip?: string };
type Network = { name: string; aliases?: string[]; ipv4Address?: string; gwPriority?: number };
type Upload = { file: string; content: string; permissions?: string };
type Mount = { destination: string; source: string; readOnly: boolean };
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";

let run: MockRun;
beforeAll(async () => {
  run = await runMesh({ target: "docker", replicas: { catalog: 2, cart: 3 } });
});

const containers = () => ofType(run, CONTAINER);
const ports = (c: RawResource) => (c.inputs.ports ?? []) as Port[];
const networks = (c: RawResource) => (c.inputs.networksAdvanced ?? []) as Network[];
/** The uploads as the provider gets them: a secret content makes the whole list a secret. */
const uploads = (c: RawResource) => {
  const raw = c.inputs.uploads ?? [];
  return (isSecret(raw) ? raw.value : raw) as Upload[];
};
/** One-shot containers that write a workload's certificates into its identity volume (infra/docker/identity-volume.ts). */
const isIdentityWriter = (c: RawResource) => c.name.endsWith("-identity-writer");
/** Containers created only to receive uploads into volumes, never started (infra/docker/config-volumes.ts). */
const isSeed = (c: RawResource) => c.inputs.start === false;
const running = () => containers().filter((c) => !isSeed(c));
/** What runs for as long as the mesh does. */
const serving = () => running().filter((c) => !isIdentityWriter(c));

/** Volume and bind mounts: the mount points the daemon knows of. tmpfs is not one (and is mounted only at start). */
function mountsOf(c: RawResource): Mount[] {
  const volumes = (c.inputs.volumes ?? []) as Array<{ containerPath: string; volumeName?: string; hostPath?: string; readOnly?: boolean }>;
  const mounts = (c.inputs.mounts ?? []) as Array<{ target: string; source?: string; type: string; readOnly?: boolean }>;
  return [
    ...volumes.map((v) => ({ destination: v.containerPath, source: v.volumeName ?? v.hostPath ?? "", readOnly: v.readOnly === true })),
    ...mounts.filter((m) => m.type !== "tmpfs").map((m) => ({ destination: m.target, source: m.source ?? "", readOnly: m.readOnly === true })),
  ];
}

const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
/** The innermost mount holding the path, as the kernel resolves it. */
const mountAt = (c: RawResource, path: string) =>
  mountsOf(c)
    .filter((m) => within(path, m.destination))
    .sort((a, b) => b.destination.length - a.destination.length)[0];

/**
 * @pulumi/docker (kreuzwerker's terraform-provider-docker, container create) sends each upload as
 * an archive whose entry is the file's absolute path, extracted at "/", before the container starts.
 */
const PROVIDER_EXTRACTION_POINT = "/";

/**
 * What the daemon answers to an archive extracted at `point` (moby daemon/archive: containerExtractToDir,
 * checkIfPathIsInAVolume): inside a read-only mount, refused; outside every mount, refused if the rootfs is.
 */
function extractionRefusal(c: RawResource, point: string): string | undefined {
  const mount = mountAt(c, point);
  if (mount?.readOnly) return "mounted volume is marked read-only";
  if (!mount && c.inputs.readOnly === true) return "container rootfs is marked read-only";
  return undefined;
}

/** Where each uploaded file ends up: what the daemon refuses, or what hides it once the container starts. */
function uploadProblems(c: RawResource): string[] {
  const tmpfs = Object.keys((c.inputs.tmpfs ?? {}) as Record<string, string>);
  return uploads(c).flatMap((u) => {
    const problems: string[] = [];
    const refusal = extractionRefusal(c, PROVIDER_EXTRACTION_POINT) ?? extractionRefusal(c, u.file);
    if (refusal) problems.push(`${c.name}: ${u.file}: ${refusal}`);
    if (tmpfs.some((t) => within(u.file, t))) problems.push(`${c.name}: ${u.file}: hidden by a tmpfs mounted at start`);
    const mount = mountAt(c, u.file);
    if (c.inputs.readOnly === true && !mount) problems.push(`${c.name}: ${u.file}: not inside a read-write volume of a read-only container`);
    return problems;
  });
}

/** Files a running container sees in its volumes, as its seed containers uploaded them. */
function deliveredFiles(c: RawResource): Map<string, Upload> {
  const files = new Map<string, Upload>();
  for (const mount of mountsOf(c)) {
    for (const seed of containers().filter(isSeed)) {
      for (const seedMount of mountsOf(seed).filter((m) => m.source === mount.source)) {
        for (const u of uploads(seed).filter((u) => within(u.file, seedMount.destination))) {
          files.set(`${mount.destination}${u.file.slice(seedMount.destination.length)}`, u);
        }
      }
    }
  }
  return files;
}

/** The Envoy bootstrap a proxy container runs with (--config-yaml). */
function envoyBootstrap(c: RawResource): string {
  const command = c.inputs.command as string[];
  const flag = command.indexOf("--config-yaml");
  expect(flag, c.name).toBeGreaterThanOrEqual(0);
  return command[flag + 1] ?? "";
}

describe("docker target", () => {
  it("declares every component: data stores, services with sidecars, the edge, observability", () => {
    expect(ofType(run, "mesh:docker:Mesh").map((r) => r.name)).toEqual(["mesh"]);
    expect(ofType(run, "mesh:docker:DataStore").map((r) => r.name).sort()).toEqual(["mesh-postgres", "mesh-rabbitmq", "mesh-redis"]);
    expect(ofType(run, "mesh:docker:ServiceWithSidecar").map((r) => r.name).sort()).toEqual(SERVICE_NAMES.map((s) => `mesh-${s}`).sort());
    // The edge plus one proxy per replica: catalog 2, cart 3, orders 1, order-worker 1.
    expect(ofType(run, "mesh:docker:EnvoyProxy")).toHaveLength(1 + 2 + 3 + 1 + 1);
    for (const name of ["mesh-observability-prometheus", "mesh-observability-grafana", "mesh-observability-zipkin"]) {
      expect(named(run, name).type).toBe(CONTAINER);
    }
    expect(ofType(run, "docker:index/image:Image").map((r) => r.inputs.build)).toEqual(
      expect.arrayContaining(SERVICE_NAMES.map((s) => expect.objectContaining({ context: ".", dockerfile: "apps/Dockerfile", args: expect.objectContaining({ APP: s }) }))),
    );
  });

  it("runs every app replica and its sidecar in one pod namespace, held by a container that only sleeps and carries the service alias", () => {
    for (const service of SERVICE_NAMES) {
      const replicas = run.settings.replicas[service];
      for (let i = 0; i < replicas; i++) {
        const holder = named(run, `mesh-${service}-sidecar-${i}-pod-holder`);
        // Envoy or the app can crash and restart into this namespace: the holder never does.
        for (const member of [named(run, `mesh-${service}-app-${i}`), named(run, `mesh-${service}-sidecar-${i}-envoy`)]) {
          expect(member.inputs.networkMode, member.name).toBe(`container:${holder.name}-id`);
          expect(member.inputs.ports, member.name).toBeUndefined();
          expect(member.inputs.networksAdvanced, member.name).toBeUndefined();
        }
        expect(holder.inputs).toMatchObject({ entrypoints: ["/bin/sleep", "infinity"], stopSignal: "SIGKILL", restart: "unless-stopped", readOnly: true });
        expect(networks(holder).find((n) => n.name === "mesh-network")?.aliases).toEqual([service]);
      }
      expect(ofType(run, CONTAINER).filter((c) => c.name.startsWith(`mesh-${service}-app-`))).toHaveLength(replicas);
    }
  });

  it("publishes the gateway on every interface and everything else on 127.0.0.1 only, at the designed ports", () => {
    const published = containers().flatMap((c) => ports(c).map((p) => ({ container: c.name, ...p })));
    const { settings } = run;
    expect(published.filter((p) => p.ip === undefined)).toEqual([
      { container: "mesh-edge-pod-holder", internal: PORTS.edgeHttp, external: settings.gatewayPort },
      { container: "mesh-edge-pod-holder", internal: PORTS.edgeHttps, external: settings.gatewayHttpsPort },
    ]);
    const loopbackOnly = published.filter((p) => p.ip !== undefined);
    expect(loopbackOnly.every((p) => p.ip === "127.0.0.1")).toBe(true);
    const admin = adminPorts(settings).map((a) => ({
      container: a.proxy === "edge" ? "mesh-edge-pod-holder" : `mesh-${a.proxy.replace(/-sidecar$/, "")}-sidecar-${a.replica}-pod-holder`,
      internal: PORTS.envoyAdmin,
      external: a.port,
      ip: "127.0.0.1",
    }));
    expect(loopbackOnly).toEqual(
      expect.arrayContaining([
        ...admin,
        { container: "mesh-observability-prometheus", internal: PORTS.prometheus, external: settings.prometheusPort, ip: "127.0.0.1" },
        { container: "mesh-observability-grafana", internal: PORTS.grafana, external: settings.grafanaPort, ip: "127.0.0.1" },
        { container: "mesh-observability-zipkin", internal: PORTS.zipkin, external: settings.zipkinPort, ip: "127.0.0.1" },
      ]),
    );
    expect(loopbackOnly).toHaveLength(admin.length + 3);
  });

  it("binds each admin to its proxy's address on a network no other container joins", () => {
    for (const { proxy, replica } of adminPorts(run.settings)) {
      const name = proxy === "edge" ? "mesh-edge" : `mesh-${proxy.replace(/-sidecar$/, "")}-sidecar-${replica}`;
      const envoy = named(run, `${name}-envoy`);
      const holder = named(run, `${name}-pod-holder`);
      const subnet = operatorSubnet(proxy, replica);
      expect(named(run, `${name}-pod-operator`).inputs.ipamConfigs).toEqual([{ subnet: subnet.subnet, gateway: subnet.gateway }]);
      expect(networks(holder)[0]).toEqual({ name: `${name}-pod-operator`, ipv4Address: subnet.proxyAddress, gwPriority: 100 });
      const joiners = containers().filter((c) => networks(c).some((n) => n.name === `${name}-pod-operator`));
      expect(joiners.map((c) => c.name)).toEqual([holder.name]);
      // The config is this replica's own: its admin listens on that address.
      const config = parse(envoyBootstrap(envoy)) as {
        admin: { address: { socket_address: { address: string; port_value: number } } };
      };
      expect(config.admin.address.socket_address).toMatchObject({ address: subnet.proxyAddress, port_value: PORTS.envoyAdmin });
    }
  });

  it("keeps data stores on internal networks that only the sidecars of their clients join", () => {
    for (const store of Object.keys(DATA_STORES)) {
      const network = named(run, `mesh-${store}-network`);
      expect(network.inputs.internal).toBe(true);
      const server = named(run, `mesh-${store}-server`);
      expect(networks(server)).toEqual([{ name: network.name, aliases: [store] }]);
      const clients = containers()
        .filter((c) => c !== server && networks(c).some((n) => n.name === network.name))
        .map((c) => c.name.replace(/-sidecar-\d+-pod-holder$/, ""));
      const expected = run.resources
        .filter((r) => r.type === "mesh:docker:ServiceWithSidecar")
        .map((r) => r.name.replace(/^mesh-/, ""))
        .filter((service) => (store === "postgres" ? ["catalog", "orders", "order-worker"] : store === "redis" ? ["cart"] : ["orders", "order-worker"]).includes(service));
      expect([...new Set(clients)].sort()).toEqual(expected.map((s) => `mesh-${s}`).sort());
    }
  });

  it("runs no container as root, without limits, capabilities or a health check (but the pod holders, which only sleep)", () => {
    expect(serving().length).toBeGreaterThan(10);
    for (const c of serving().filter((c) => !c.name.endsWith("-pod-holder"))) {
      const user = String(c.inputs.user ?? "");
      expect(user, c.name).toMatch(/^[1-9]\d*:\d+$/);
      expect(c.inputs.memory, c.name).toBeGreaterThan(0);
      expect(Number(c.inputs.cpus), c.name).toBeGreaterThan(0);
      expect(c.inputs.capabilities, c.name).toEqual({ drops: ["ALL"] });
      expect(c.inputs.securityOpts, c.name).toContain("no-new-privileges:true");
      expect((c.inputs.healthcheck as { tests?: string[] } | undefined)?.tests?.length, c.name).toBeGreaterThan(1);
      expect(c.inputs.privileged, c.name).toBeUndefined();
    }
    const writableRoot = serving().filter((c) => c.inputs.readOnly !== true).map((c) => c.name);
    expect(writableRoot).toEqual(["mesh-rabbitmq-server"]);
    // The identity writers run once, as root for one chown, with CHOWN only, no network, within limits.
    const writers = running().filter(isIdentityWriter);
    expect(writers.map((c) => c.name).sort()).toEqual(["edge", ...SERVICE_NAMES].map((w) => `mesh-${w}-identity-writer`).sort());
    for (const writer of writers) {
      expect(writer.inputs, writer.name).toMatchObject({ user: "0:0", capabilities: { drops: ["ALL"], adds: ["CHOWN"] }, networkMode: "none", mustRun: false, attach: true, restart: "no" });
      expect(writer.inputs.securityOpts, writer.name).toContain("no-new-privileges:true");
      expect(writer.inputs.memory, writer.name).toBeGreaterThan(0);
      expect(writer.inputs.ports, writer.name).toBeUndefined();
    }
    // Seed containers run nothing: never started, no network, no restart, no capabilities.
    const seeds = containers().filter(isSeed);
    expect(seeds.map((c) => c.name).sort()).toEqual(["mesh-observability-grafana-seed", "mesh-observability-prometheus-seed", "mesh-postgres-seed"]);
    for (const seed of seeds) {
      expect(seed.inputs, seed.name).toMatchObject({ start: false, mustRun: false, restart: "no", networkMode: "none", capabilities: { drops: ["ALL"] } });
      expect(seed.inputs.ports, seed.name).toBeUndefined();
    }
  });

  it("gives every Envoy its workload's identity volume read-only, written before it starts from secret uploads; a renewal replaces only the writer", async () => {
    const envoys = running().filter((c) => c.name.endsWith("-envoy"));
    expect(envoys.length).toBe(1 + 2 + 3 + 1 + 1);
    for (const envoy of envoys) {
      const workload = envoy.name.replace(/^mesh-/, "").replace(/(-sidecar-\d+)?-envoy$/, "");
      const volume = named(run, `mesh-${workload}-identity`).inputs.name;
      expect(volume).toBe(`test-mesh-${workload}-identity`);
      expect(mountsOf(envoy)).toContainEqual({ source: volume, destination: CONTAINER_IDENTITY_DIR, readOnly: true });
      expect(dependsOnName(envoy, `mesh-${workload}-identity-writer`), envoy.name).toBe(true);
    }
    const writer = named(run, "mesh-catalog-identity-writer");
    expect(isSecret(writer.inputs.uploads)).toBe(true);
    expect(uploads(writer).map((u) => u.file).sort()).toEqual(identityFileNames(false).map((f) => `/incoming/${f}`).sort());
    expect(uploads(named(run, "mesh-edge-identity-writer")).map((u) => u.file).sort()).toEqual(identityFileNames(true).map((f) => `/incoming/${f}`).sort());
    expect(mountsOf(writer)).toEqual([{ source: "test-mesh-catalog-identity", destination: "/identity", readOnly: false }]);
    // A renewal (the next renewal period of 24 h certificates) changes the writers' uploads and nothing of the Envoys.
    const periodMs = 16 * 3_600_000;
    const at = async (ms: number) => {
      vi.useFakeTimers({ toFake: ["Date"], now: ms });
      try {
        return await runMesh({ target: "docker", replicas: { catalog: 2, cart: 3 } });
      } finally {
        vi.useRealTimers();
      }
    };
    const start = Math.ceil(Date.now() / periodMs) * periodMs;
    const [before, after] = [await at(start + 60_000), await at(start + periodMs + 60_000)];
    const inputsOf = (r: MockRun, name: string) => JSON.stringify(named(r, name).inputs);
    for (const envoy of envoys) expect(inputsOf(after, envoy.name), envoy.name).toBe(inputsOf(before, envoy.name));
    expect(inputsOf(after, "mesh-catalog-identity-writer")).not.toBe(inputsOf(before, "mesh-catalog-identity-writer"));
  });

  it("lets every app drain before Docker kills it, and gives every Envoy the workers its CPU limit allows", () => {
    for (const service of SERVICE_NAMES) {
      const app = named(run, `mesh-${service}-app-0`);
      expect(app.inputs.stopTimeout, app.name).toBe(APP_STOP_GRACE_SECONDS);
      expect(APP_STOP_GRACE_SECONDS * 1000).toBeGreaterThan(APP_SHUTDOWN_TIMEOUT_MS);
      const command = named(run, `mesh-${service}-sidecar-0-envoy`).inputs.command as string[];
      expect(command[command.indexOf("--concurrency") + 1]).toBe(String(envoyConcurrency(WORKLOAD_SIZES.envoy)));
    }
  });

  it("keeps generated passwords secret wherever they flow", () => {
    for (const name of ["mesh-postgres-server", "mesh-redis-server", "mesh-rabbitmq-server", "mesh-observability-grafana", "mesh-catalog-app-0", "mesh-cart-app-0", "mesh-orders-app-0", "mesh-order-worker-app-0"]) {
      expect(containsSecret(named(run, name).inputs.envs), name).toBe(true);
    }
    // The passwords do flow into the inputs, and only ever inside secrets.
    expect(JSON.stringify(run.resources.map((r) => r.inputs))).toContain(MOCK_SECRET_PREFIX);
    expect(visibleInputs(run)).not.toContain(MOCK_SECRET_PREFIX);
  });

  it("makes Redis require the generated password, kept out of its command, and hands it to every cart replica", () => {
    const password = `${MOCK_SECRET_PREFIX}redis`;
    const server = named(run, "mesh-redis-server");
    expect(secretValue(server.inputs.envs)).toEqual([`REDISCLI_AUTH=${password}`]);
    // requirepass comes from that variable; the command and health check only name it.
    const command = server.inputs.command as string[];
    expect(command.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(command[2]).toContain("requirepass $REDISCLI_AUTH");
    expect(command.slice(3)).toEqual(["redis-server", "--appendonly", "yes"]);
    // redis-cli authenticates from REDISCLI_AUTH and exits 0 on NOAUTH: the check wants PONG.
    expect((server.inputs.healthcheck as { tests: string[] }).tests).toEqual(["CMD", "sh", "-c", "redis-cli ping | grep -qx PONG"]);
    expect(JSON.stringify([server.inputs.command, server.inputs.healthcheck])).not.toContain(password);
    for (let i = 0; i < run.settings.replicas.cart; i++) {
      const envs = secretValue(named(run, `mesh-cart-app-${i}`).inputs.envs) as string[];
      expect(envs).toContain(`REDIS_URL=redis://:${password}@127.0.0.1:${DATA_STORES.redis.port}`);
    }
  });

  it("starts data stores (healthy) before the sidecars and apps that use them", () => {
    for (const store of ["postgres", "redis", "rabbitmq"]) {
      expect(named(run, `mesh-${store}-server`).inputs).toMatchObject({ wait: true });
    }
    const uses: Record<string, string[]> = { catalog: ["postgres"], cart: ["redis"], orders: ["postgres", "rabbitmq"], "order-worker": ["postgres", "rabbitmq"] };
    for (const [service, stores] of Object.entries(uses)) {
      for (const store of stores) {
        expect(dependsOnName(named(run, `mesh-${service}-app-0`), `mesh-${store}-server`), `${service} app after ${store}`).toBe(true);
        expect(dependsOnName(named(run, `mesh-${service}-sidecar-0-envoy`), `mesh-${store}-server`), `${service} sidecar after ${store}`).toBe(true);
      }
    }
  });

  it("uploads only where the Docker daemon accepts them: never into a read-only root, a read-only mount or a tmpfs", () => {
    expect(containers().filter((c) => uploads(c).length > 0).length).toBeGreaterThan(0);
    expect(containers().flatMap(uploadProblems)).toEqual([]);
    // With the provider extracting at "/", a container that takes uploads cannot have a read-only root.
    expect(containers().filter((c) => uploads(c).length > 0 && c.inputs.readOnly === true).map((c) => c.name)).toEqual([]);
  });

  it("models the daemon: a read-write volume at the upload directory does not open a read-only root to the provider's uploads", () => {
    const container = (inputs: Record<string, unknown>): RawResource => ({ urn: "urn::c", type: CONTAINER, name: "c", parentUrn: "", dependencyUrns: [], inputs, replaceOnChanges: [], deleteBeforeReplace: false });
    const upload = [{ file: "/etc/app/app.yaml", content: "x" }];
    const volumeAtDir = [{ volumeName: "v", containerPath: "/etc/app" }];
    // What the daemon itself would accept at that extraction point, and what the provider actually asks for.
    expect(extractionRefusal(container({ readOnly: true, volumes: volumeAtDir }), "/etc/app")).toBeUndefined();
    expect(uploadProblems(container({ readOnly: true, volumes: volumeAtDir, uploads: upload }))).toEqual(["c: /etc/app/app.yaml: container rootfs is marked read-only"]);
    expect(uploadProblems(container({ readOnly: false, volumes: [{ ...volumeAtDir[0], readOnly: true }], uploads: upload }))).toEqual([
      "c: /etc/app/app.yaml: mounted volume is marked read-only",
    ]);
    expect(uploadProblems(container({ readOnly: false, tmpfs: { "/etc/app": "rw" }, uploads: upload }))).toEqual(["c: /etc/app/app.yaml: hidden by a tmpfs mounted at start"]);
    expect(uploadProblems(container({ readOnly: false, volumes: volumeAtDir, uploads: upload }))).toEqual([]);
  });

  it("delivers every generated file, root-owned and read-only, into a read-only volume where its container reads it", () => {
    const artifacts = renderArtifacts(buildMeshModel(run.settings.replicas), dockerAddressing());
    const expectFiles = (name: string, expected: Record<string, { content: string; permissions: string }>) => {
      const container = named(run, name);
      const delivered = deliveredFiles(container);
      expect(Object.fromEntries([...delivered].map(([path, u]) => [path, { content: u.content, permissions: u.permissions }])), name).toEqual(expected);
      for (const path of delivered.keys()) expect(mountAt(container, path)?.readOnly, `${name}: ${path}`).toBe(true);
      // The seed is created first: the files are there when the container starts.
      expect(dependsOnName(container, name.replace(/-server$/, "") + "-seed"), name).toBe(true);
    };
    const artifactFiles = (...dirs: (typeof PROMETHEUS_ARTIFACTS)[]) =>
      Object.fromEntries(
        dirs.flatMap((dir) => artifactsIn(artifacts, dir).map(({ path, content }) => [`${dir.mountPath}/${path}`, { content, permissions: "0444" }])),
      );

    const prometheus = artifactFiles(PROMETHEUS_ARTIFACTS);
    expect(Object.keys(prometheus)).toEqual(expect.arrayContaining([PROMETHEUS_CONFIG_PATH, "/etc/prometheus/rules/mesh-alerts.yml"]));
    expectFiles("mesh-observability-prometheus", prometheus);
    expect(named(run, "mesh-observability-prometheus").inputs.command).toContain(`--config.file=${PROMETHEUS_CONFIG_PATH}`);

    const grafana = artifactFiles(GRAFANA_PROVISIONING_ARTIFACTS, GRAFANA_DASHBOARD_ARTIFACTS);
    expect(Object.keys(grafana).some((f) => f.startsWith("/etc/grafana/provisioning/datasources/"))).toBe(true);
    expect(Object.keys(grafana).some((f) => /^\/var\/lib\/grafana\/dashboards\/.+\.json$/.test(f))).toBe(true);
    expectFiles("mesh-observability-grafana", grafana);
    expect(String(secretValue(named(run, "mesh-observability-grafana").inputs.envs))).toContain(`GF_PATHS_PROVISIONING=${GRAFANA_PROVISIONING_ARTIFACTS.mountPath}`);

    expectFiles("mesh-postgres-server", { [`/docker-entrypoint-initdb.d/${POSTGRES_INIT_SCRIPT_NAME}`]: { content: postgresInitScript, permissions: "0555" } });

    // Every Envoy takes its bootstrap as an argument: no file, no upload.
    const envoys = containers().filter((c) => c.name.endsWith("-envoy"));
    expect(envoys).toHaveLength(1 + 2 + 3 + 1 + 1);
    for (const envoy of envoys) {
      expect(envoy.inputs.command, envoy.name).not.toContain("--config-path");
      expect(parse(envoyBootstrap(envoy)), envoy.name).toHaveProperty("static_resources");
    }
  });

  it("mounts each container's volumes at distinct paths; Grafana's dashboards inside its data volume, as on Kubernetes", () => {
    for (const c of containers()) {
      const destinations = mountsOf(c).map((m) => m.destination);
      expect(new Set(destinations).size, c.name).toBe(destinations.length);
    }
    const grafana = mountsOf(named(run, "mesh-observability-grafana"));
    expect(grafana.find((m) => m.destination === "/var/lib/grafana")).toMatchObject({ source: "mesh-observability-grafana-data", readOnly: false });
    expect(mountAt(named(run, "mesh-observability-grafana"), `${GRAFANA_DASHBOARD_ARTIFACTS.mountPath}/x.json`)?.readOnly).toBe(true);
  });

  it("names each config volume after its content, so changed files get a fresh volume and replace only their container", () => {
    const configVolumes = ofType(run, VOLUME).filter((v) => !v.name.endsWith("-data") && !v.name.endsWith("-identity"));
    expect(configVolumes.map((v) => v.name).sort()).toEqual([
      "mesh-observability-grafana-dashboards",
      "mesh-observability-grafana-provisioning",
      "mesh-observability-prometheus-config",
      "mesh-postgres-initdb",
    ]);
    for (const volume of configVolumes) {
      expect(volume.inputs.name, volume.name).toMatch(new RegExp(`^test-${volume.name}-[0-9a-f]{16}$`));
      // Each is mounted by one seed (read-write) and one running container (read-only).
      const users = containers().filter((c) => mountsOf(c).some((m) => m.source === volume.inputs.name));
      expect(users.map((c) => [isSeed(c), mountsOf(c).find((m) => m.source === volume.inputs.name)?.readOnly]).sort(), volume.name).toEqual([
        [false, true],
        [true, false],
      ]);
    }
  });

  it("spells every CPU limit as the provider reads it back, so a refresh sees no change (and replaces nothing)", () => {
    // The provider's read-back of NanoCPUs: nine decimals, one if all nine are zeros, else trailing zeros dropped.
    expect([1, 2, 0.5, 0.25, 0.1, 1.5].map(dockerCpus)).toEqual(["1.0", "2.0", "0.5", "0.25", "0.1", "1.5"]);
    // Nine decimals "0.050000000" hold nine zeros: read back with one decimal, rounded.
    expect(() => dockerCpus(0.05)).toThrow(/reads back from Docker as "0.1"/);
    for (const c of running()) expect(c.inputs.cpus, c.name).toBe(dockerCpus(Number(c.inputs.cpus)));
    expect(named(run, "mesh-postgres-server").inputs.cpus).toBe("1.0");
  });

  it("recreates a container whose health check changes: the daemon ignores an in-place change", () => {
    const checked = running().filter((c) => c.inputs.healthcheck !== undefined);
    expect(checked.length).toBeGreaterThan(10);
    for (const c of checked) expect(c.replaceOnChanges, c.name).toContain("healthcheck");
  });

  it("checks each Envoy on its metrics listener's upstreams-ready path, and waits for every Envoy and app to be healthy", () => {
    const envoys = running().filter((c) => c.name.endsWith("-envoy"));
    const apps = running().filter((c) => /-app-\d+$/.test(c.name));
    expect([envoys.length, apps.length]).toEqual([1 + 2 + 3 + 1 + 1, 2 + 3 + 1 + 1]);
    for (const envoy of envoys) {
      const probe = (envoy.inputs.healthcheck as { tests: string[] }).tests;
      expect(probe.slice(0, 3)).toEqual(["CMD", "bash", "-c"]);
      expect(probe[3]).toBe(upstreamsReadyProbe("127.0.0.1"));
    }
    // So `pulumi up` returns once the gateway serves, not while the edge still answers 503.
    for (const c of [...envoys, ...apps]) expect(c.inputs, c.name).toMatchObject({ wait: true, waitTimeout: HEALTHY_WAIT_SECONDS });
  });
});

describe("docker target: the app images' build context", () => {
  it("builds from \".\" as index.ts runs, and from the given folder when another project folder runs the program", async () => {
    const settings = parseStackSettings({ target: "docker" });
    const fromHere = await captureResources("test", () => deployMesh(settings));
    const elsewhere = await captureResources("test", () => deployMesh(settings, { buildContext: "/src/envoy-mesh" }));
    const builds = (resources: RawResource[]) => resources.filter((r) => r.type === "docker:index/image:Image").map((r) => r.inputs.build as { context: string; dockerfile: string });
    expect(builds(fromHere.resources)).toEqual(SERVICE_NAMES.map(() => expect.objectContaining({ context: ".", dockerfile: "apps/Dockerfile" })));
    expect(builds(elsewhere.resources)).toEqual(SERVICE_NAMES.map(() => expect.objectContaining({ context: "/src/envoy-mesh", dockerfile: "/src/envoy-mesh/apps/Dockerfile" })));
  });
});

describe("docker target: scaling one service", () => {
  const inputsByName = (resources: RawResource[]) => new Map(resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(maskSecrets(r.inputs))]));

  it.each([
    ["up", { catalog: 2 }, { catalog: 3 }],
    ["down", { catalog: 3 }, { catalog: 2 }],
    ["up", { cart: 1, orders: 1 }, { cart: 1, orders: 4 }],
  ])("scaling %s adds or removes only that service's replicas and changes nothing else", async (_direction, before, after) => {
    const [from, to] = [await runMesh({ target: "docker", replicas: before }), await runMesh({ target: "docker", replicas: after })];
    const [a, b] = [inputsByName(from.resources), inputsByName(to.resources)];
    const changed = [...a.keys()].filter((key) => b.has(key) && b.get(key) !== a.get(key));
    expect(changed).toEqual([]);
    const service = Object.keys(after).find((s) => after[s as keyof typeof after] !== before[s as keyof typeof before]) as string;
    const [low, high] = [Math.min(...[before, after].map((r) => r[service as keyof typeof r] as number)), Math.max(...[before, after].map((r) => r[service as keyof typeof r] as number))];
    const expectedDelta = Array.from({ length: high - low }, (_, i) => low + i);
    const onlyIn = (x: Map<string, string>, y: Map<string, string>) => [...x.keys()].filter((k) => !y.has(k)).map((k) => k.slice(k.indexOf("::") + 2));
    const delta = [...onlyIn(a, b), ...onlyIn(b, a)];
    expect(delta.length).toBeGreaterThan(0);
    for (const name of delta) expect(name).toMatch(new RegExp(`^mesh-${service}-(app|sidecar)-(${expectedDelta.join("|")})(-|$)`));
  });
});
