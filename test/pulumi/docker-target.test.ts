// The Docker target under Pulumi's mocks: what it declares, not what Docker does.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { adminPorts } from "../../infra/config.js";
import { operatorSubnet } from "../../infra/docker/operator-network.js";
import { DATA_STORES, PORTS, SERVICE_NAMES } from "../../infra/model.js";
import { containsSecret, type RawResource } from "../../infra/resource-graph.js";
import { MOCK_SECRET_PREFIX, type MockRun, dependsOnName, named, ofType, runMesh, secretValue, visibleInputs } from "./support.js";

type Port = { internal: number; external: number; ip?: string };
type Network = { name: string; aliases?: string[]; ipv4Address?: string; gwPriority?: number };
const CONTAINER = "docker:index/container:Container";

let run: MockRun;
beforeAll(async () => {
  run = await runMesh({ target: "docker", replicas: { catalog: 2, cart: 3 } });
});

const containers = () => ofType(run, CONTAINER);
const ports = (c: RawResource) => (c.inputs.ports ?? []) as Port[];
const networks = (c: RawResource) => (c.inputs.networksAdvanced ?? []) as Network[];

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
      expect.arrayContaining(SERVICE_NAMES.map((s) => expect.objectContaining({ context: ".", dockerfile: `apps/${s}/Dockerfile` }))),
    );
  });

  it("runs every app replica in its own sidecar's network namespace, with the sidecar carrying the service alias", () => {
    for (const service of SERVICE_NAMES) {
      const replicas = run.settings.replicas[service];
      for (let i = 0; i < replicas; i++) {
        const app = named(run, `mesh-${service}-app-${i}`);
        expect(app.inputs.networkMode).toBe(`container:mesh-${service}-sidecar-${i}-envoy-id`);
        expect(app.inputs.ports).toBeUndefined();
        const sidecar = named(run, `mesh-${service}-sidecar-${i}-envoy`);
        expect(networks(sidecar).find((n) => n.name === "mesh-network")?.aliases).toEqual([service]);
      }
      expect(ofType(run, CONTAINER).filter((c) => c.name.startsWith(`mesh-${service}-app-`))).toHaveLength(replicas);
    }
  });

  it("publishes the gateway on every interface and everything else on 127.0.0.1 only, at the designed ports", () => {
    const published = containers().flatMap((c) => ports(c).map((p) => ({ container: c.name, ...p })));
    const { settings } = run;
    expect(published.filter((p) => p.ip === undefined)).toEqual([{ container: "mesh-edge-envoy", internal: PORTS.edgeHttp, external: settings.gatewayPort }]);
    const loopbackOnly = published.filter((p) => p.ip !== undefined);
    expect(loopbackOnly.every((p) => p.ip === "127.0.0.1")).toBe(true);
    const admin = adminPorts(settings).map((a) => ({
      container: a.proxy === "edge" ? "mesh-edge-envoy" : `mesh-${a.proxy.replace(/-sidecar$/, "")}-sidecar-${a.replica}-envoy`,
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
      const subnet = operatorSubnet(proxy, replica);
      expect(named(run, `${name}-operator`).inputs.ipamConfigs).toEqual([{ subnet: subnet.subnet, gateway: subnet.gateway }]);
      expect(networks(envoy)[0]).toEqual({ name: `${name}-operator`, ipv4Address: subnet.proxyAddress, gwPriority: 100 });
      const joiners = containers().filter((c) => networks(c).some((n) => n.name === `${name}-operator`));
      expect(joiners.map((c) => c.name)).toEqual([envoy.name]);
      // The uploaded config is this replica's own: its admin listens on that address.
      const uploads = envoy.inputs.uploads as Array<{ file: string; content: string }>;
      const config = parse(uploads.find((u) => u.file === "/etc/envoy/envoy.yaml")?.content ?? "") as {
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
        .map((c) => c.name.replace(/-sidecar-\d+-envoy$/, ""));
      const expected = run.resources
        .filter((r) => r.type === "mesh:docker:ServiceWithSidecar")
        .map((r) => r.name.replace(/^mesh-/, ""))
        .filter((service) => (store === "postgres" ? ["catalog", "orders", "order-worker"] : store === "redis" ? ["cart"] : ["orders", "order-worker"]).includes(service));
      expect([...new Set(clients)].sort()).toEqual(expected.map((s) => `mesh-${s}`).sort());
    }
  });

  it("runs no container as root, without limits, capabilities or a health check", () => {
    expect(containers().length).toBeGreaterThan(10);
    for (const c of containers()) {
      const user = String(c.inputs.user ?? "");
      expect(user, c.name).toMatch(/^[1-9]\d*:\d+$/);
      expect(c.inputs.memory, c.name).toBeGreaterThan(0);
      expect(Number(c.inputs.cpus), c.name).toBeGreaterThan(0);
      expect(c.inputs.capabilities, c.name).toEqual({ drops: ["ALL"] });
      expect(c.inputs.securityOpts, c.name).toContain("no-new-privileges:true");
      expect((c.inputs.healthcheck as { tests?: string[] } | undefined)?.tests?.length, c.name).toBeGreaterThan(1);
      expect(c.inputs.privileged, c.name).toBeUndefined();
    }
    const writableRoot = containers().filter((c) => c.inputs.readOnly !== true).map((c) => c.name);
    expect(writableRoot).toEqual(["mesh-rabbitmq-server"]);
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

  it("delivers the generated Prometheus and Grafana artifacts into their containers", () => {
    const files = (name: string) => (named(run, name).inputs.uploads as Array<{ file: string }>).map((u) => u.file);
    expect(files("mesh-observability-prometheus")).toEqual(expect.arrayContaining(["/etc/prometheus/prometheus.yml", "/etc/prometheus/rules/mesh-alerts.yml"]));
    expect(files("mesh-observability-grafana").some((f) => f.startsWith("/etc/grafana/provisioning/datasources/"))).toBe(true);
    expect(files("mesh-observability-grafana").some((f) => /^\/var\/lib\/grafana\/dashboards\/.+\.json$/.test(f))).toBe(true);
  });
});
