// The Kubernetes target under Pulumi's mocks: what it declares, not what a cluster does.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { CONTAINER_IDENTITY_DIR } from "../../infra/addressing.js";
import { IMAGES } from "../../infra/versions.js";
import { parse } from "yaml";
import { meshFlows } from "../../infra/kubernetes/network-flows.js";
import { NODE_PORTS } from "../../infra/kubernetes/node-ports.js";
import { buildMeshModel, DATA_STORES, PORTS, SERVICE_NAMES } from "../../infra/model.js";
import { PASSWORD_NAMES, meshModelFor, parseStackSettings, passwordKey } from "../../infra/config.js";
import { deployMesh } from "../../infra/mesh-program.js";
import { UPSTREAMS_READY_PATH } from "../../envoy-templates/index.js";
import { CALLER_HEALTH_NOTICE_SECONDS, CLUSTER_DNS_TTL_SECONDS, DNS_REFRESH_SECONDS, ENDPOINT_DRAIN_SECONDS, HEALTH_CHECK_TIMING } from "../../infra/endpoint-discovery.js";
import { APP_SHUTDOWN_TIMEOUT_MS, ENVOY_DRAIN_SECONDS, NODE_OFF_HEAP_MIB, POD_STOP_GRACE_SECONDS, WORKLOAD_SIZES, envoyConcurrency, nodeHeapLimits } from "../../infra/workload-sizes.js";
import { captureResources, containsSecret, type RawResource } from "../../tools/resource-graph.js";
import { MOCK_SECRET_PREFIX, type MockRun, dependsOnName, named, ofType, runMesh, secretValue, visibleInputs } from "./support.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes manifests are walked as plain JSON here. */
type Obj = Record<string, any>;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

let run: MockRun;
beforeAll(async () => {
  run = await runMesh({ target: "kubernetes", kubeContext: "kind-mesh", namespace: "mesh", replicas: { catalog: 2 } });
});

const workloads = () => [...ofType(run, DEPLOYMENT), ...ofType(run, STATEFULSET)];
const podSpec = (w: RawResource) => (w.inputs as Obj).spec.template.spec as Obj;
const allContainers = (w: RawResource) => [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers] as Obj[];

describe("kubernetes target", () => {
  it("declares the namespace enforcing Pod Security restricted, the provider for the configured context, and every component", () => {
    expect(named(run, "mesh-cluster").inputs.context).toBe("kind-mesh");
    expect(named(run, "mesh-namespace").inputs.metadata).toMatchObject({
      name: "mesh",
      labels: { "pod-security.kubernetes.io/enforce": "restricted" },
    });
    expect(ofType(run, "mesh:kubernetes:ServiceWithSidecar").map((r) => r.name).sort()).toEqual(SERVICE_NAMES.map((s) => `mesh-${s}`).sort());
    expect(ofType(run, "mesh:kubernetes:DataStore").map((r) => r.name).sort()).toEqual(["mesh-postgres", "mesh-rabbitmq", "mesh-redis"]);
    expect(ofType(run, "mesh:kubernetes:EdgeProxy")).toHaveLength(1);
    expect(ofType(run, DEPLOYMENT).map((d) => d.name)).toEqual(
      expect.arrayContaining(["mesh-edge-deployment", "mesh-observability-prometheus", "mesh-observability-grafana", "mesh-observability-zipkin"]),
    );
    for (const s of ofType(run, STATEFULSET)) {
      expect((s.inputs as Obj).spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("1Gi");
    }
  });

  it("runs every app with Envoy as a native sidecar, fed by its own generated ConfigMap, behind a headless Service", () => {
    for (const service of SERVICE_NAMES) {
      const deployment = named(run, `mesh-${service}-deployment`).inputs as Obj;
      expect(deployment.spec.replicas).toBe(run.settings.replicas[service]);
      const spec = deployment.spec.template.spec;
      expect(spec.initContainers).toHaveLength(1);
      expect(spec.initContainers[0]).toMatchObject({ name: "envoy", restartPolicy: "Always" });
      expect(spec.containers.map((c: Obj) => c.name)).toEqual(["app"]);
      expect(spec.volumes.find((v: Obj) => v.name === "envoy-config").configMap.name).toBe(`mesh-${service}-envoy`);
      expect((named(run, `mesh-${service}-envoy`).inputs as Obj).data["envoy.yaml"]).toContain(`${service}`);
      const svc = named(run, `mesh-${service}-service`).inputs as Obj;
      expect(svc.metadata.name).toBe(service);
      expect(svc.spec.clusterIP).toBe("None");
      expect(svc.spec.ports.map((p: Obj) => p.port)).toEqual([PORTS.sidecarIngress, PORTS.envoyMetrics]);
    }
  });

  it("exposes only the designed ports: the gateway and operator UIs by NodePort as kind maps them, never an admin", () => {
    const nodePorts = ofType(run, "kubernetes:core/v1:Service")
      .filter((s) => (s.inputs as Obj).spec.type === "NodePort")
      .flatMap((s) => (s.inputs as Obj).spec.ports.map((p: Obj) => ({ service: (s.inputs as Obj).metadata.name, port: p.port, nodePort: p.nodePort })));
    expect(nodePorts.sort((a, b) => a.nodePort - b.nodePort)).toEqual([
      { service: "edge-public", port: PORTS.edgeHttp, nodePort: NODE_PORTS.gateway },
      { service: "prometheus", port: PORTS.prometheus, nodePort: NODE_PORTS.prometheus },
      { service: "grafana", port: PORTS.grafana, nodePort: NODE_PORTS.grafana },
      { service: "zipkin", port: PORTS.zipkin, nodePort: NODE_PORTS.zipkin },
      { service: "edge-public", port: PORTS.edgeHttps, nodePort: NODE_PORTS.gatewayHttps },
    ]);
    const kind = parse(readFileSync("infra/kubernetes/kind-cluster.yaml", "utf8")) as Obj;
    const mappings = kind.nodes[0].extraPortMappings as Obj[];
    const { settings } = run;
    expect(mappings.map((m) => [m.containerPort, m.hostPort, m.listenAddress])).toEqual([
      [NODE_PORTS.gateway, settings.gatewayPort, "0.0.0.0"],
      [NODE_PORTS.gatewayHttps, settings.gatewayHttpsPort, "0.0.0.0"],
      [NODE_PORTS.prometheus, settings.prometheusPort, "127.0.0.1"],
      [NODE_PORTS.grafana, settings.grafanaPort, "127.0.0.1"],
      [NODE_PORTS.zipkin, settings.zipkinPort, "127.0.0.1"],
    ]);
    const declaredPorts = workloads().flatMap((w) => allContainers(w).flatMap((c) => (c.ports ?? []).map((p: Obj) => p.containerPort)));
    expect(declaredPorts).not.toContain(PORTS.envoyAdmin);
    const servicePorts = ofType(run, "kubernetes:core/v1:Service").flatMap((s) => (s.inputs as Obj).spec.ports.map((p: Obj) => p.port));
    expect(servicePorts).not.toContain(PORTS.envoyAdmin);
  });

  it("meets Pod Security restricted, with requests, limits and probes on every container", () => {
    expect(workloads()).toHaveLength(4 + 1 + 3 + 3);
    for (const w of workloads()) {
      expect(podSpec(w).securityContext, w.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(podSpec(w).automountServiceAccountToken, w.name).toBe(false);
      for (const c of allContainers(w)) {
        const where = `${w.name}/${c.name}`;
        expect(c.securityContext, where).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(c.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(c.resources.limits, where).toEqual({ cpu: expect.stringMatching(/^\d+m$/), memory: expect.stringMatching(/^\d+Mi$/) });
        expect(c.resources.requests, where).toEqual({ cpu: expect.stringMatching(/^\d+m$/), memory: expect.stringMatching(/^\d+Mi$/) });
        expect(c.livenessProbe, where).toBeDefined();
        expect(c.readinessProbe, where).toBeDefined();
        expect(c.image, where).not.toMatch(/:latest$/);
      }
    }
  });

  it("keeps generated passwords in Secrets built from Pulumi secrets", () => {
    for (const name of ["mesh-postgres-credentials", "mesh-redis-credentials", "mesh-rabbitmq-credentials", "mesh-observability-grafana-admin", "mesh-catalog-env", "mesh-cart-env", "mesh-orders-env"]) {
      expect(containsSecret(named(run, name).inputs.stringData), name).toBe(true);
    }
    // The app's connection URL is read from its Secret by name; its plain variables are plain.
    const catalogApp = podSpec(named(run, "mesh-catalog-deployment")).containers[0];
    expect(catalogApp.env).toContainEqual({ name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "mesh-catalog-env", key: "DATABASE_URL" } } });
    expect(catalogApp.env).toContainEqual({ name: "SERVICE_NAME", value: "catalog" });
    expect(Object.keys(secretValue(named(run, "mesh-catalog-env").inputs.stringData) as Obj)).toEqual(["DATABASE_URL"]);
    expect(JSON.stringify(run.resources.map((r) => r.inputs))).toContain(MOCK_SECRET_PREFIX);
    expect(visibleInputs(run)).not.toContain(MOCK_SECRET_PREFIX);
  });

  it("gives every Envoy its workload's identity from a Secret of a fixed name, readable by Envoy's group only, the key never in plain inputs", () => {
    for (const workload of ["edge", ...SERVICE_NAMES]) {
      const secret = named(run, `mesh-${workload}-identity`).inputs as Obj;
      expect(secret.metadata.name).toBe(`${workload}-identity`);
      const files = secretValue(secret.stringData) as Record<string, string>;
      const edgeOnly = workload === "edge" ? ["server-cert.pem", "server-certificate.sds.yaml", "server-key.pem"] : [];
      expect(Object.keys(files).sort()).toEqual(["ca.pem", "cert.pem", "certificate.sds.yaml", "key.pem", ...edgeOnly, "trust.sds.yaml"].sort());
      const certificate = new X509Certificate(files["cert.pem"]!);
      expect(certificate.subjectAltName).toBe(`URI:spiffe://cluster.local/ns/mesh/sa/${workload}`);
      expect(certificate.checkPrivateKey(createPrivateKey(files["key.pem"]!))).toBe(true);
      expect(visibleInputs(run)).not.toContain(files["key.pem"]!.split("\n")[1]);
      const pod = podSpec(named(run, `mesh-${workload}-deployment`));
      const envoy = [...(pod.initContainers ?? []), ...pod.containers].find((c: Obj) => c.name === "envoy") as Obj;
      expect(envoy.volumeMounts).toContainEqual({ name: "envoy-identity", mountPath: CONTAINER_IDENTITY_DIR, readOnly: true });
      expect(pod.volumes).toContainEqual({ name: "envoy-identity", secret: { secretName: `${workload}-identity`, defaultMode: 0o440 } });
      expect(pod.securityContext.fsGroup).toBe(IMAGES.envoy.gid);
      // The app container never sees the identity.
      for (const app of pod.containers.filter((c: Obj) => c.name !== "envoy")) expect(JSON.stringify(app.volumeMounts ?? [])).not.toContain("identity");
    }
  });

  it("issues the same certificates for a second up in one renewal period, and new ones once two thirds of their lifetime have passed", async () => {
    // Renewal periods are 16 h for 24 h certificates, counted from the Unix epoch.
    const periodStart = Math.ceil(Date.now() / (16 * 3_600_000)) * 16 * 3_600_000;
    const certificateAt = async (ms: number) => {
      vi.useFakeTimers({ toFake: ["Date"], now: ms });
      try {
        const later = await runMesh({ target: "kubernetes" });
        return (secretValue((named(later, "mesh-catalog-identity").inputs as Obj).stringData) as Record<string, string>)["cert.pem"];
      } finally {
        vi.useRealTimers();
      }
    };
    const first = await certificateAt(periodStart + 3_600_000);
    expect(await certificateAt(periodStart + 15 * 3_600_000)).toBe(first);
    const renewed = await certificateAt(periodStart + 16 * 3_600_000);
    expect(renewed).not.toBe(first);
    expect(new X509Certificate(renewed!).validFromDate.getTime()).toBeLessThanOrEqual(periodStart + 16 * 3_600_000);
  });

  it("issues every certificate from the organisation's CA where the stack provides one, with no generated seed, and names the keys when that CA cannot be used", async () => {
    const fixture = (file: string) => readFileSync(new URL(`fixtures/${file}`, import.meta.url), "utf8");
    {
      const caCertificate = fixture("org-ca.pem");
      const caPrivateKey = fixture("org-ca.key");
      const settings = parseStackSettings({ target: "kubernetes", caCertificate, caPrivateKey }, new Set(["caPrivateKey"]));
      const { resources } = await captureResources("test", () => deployMesh(settings));
      const own: MockRun = { settings, resources };
      expect(resources.map((r) => r.name)).not.toContain("mesh-secrets-mesh-ca");
      const files = secretValue((named(own, "mesh-orders-identity").inputs as Obj).stringData) as Record<string, string>;
      const leaf = new X509Certificate(files["cert.pem"]!);
      expect(leaf.checkIssued(new X509Certificate(caCertificate))).toBe(true);
      expect(leaf.issuer).toContain("CN=Example mesh CA");
      expect(files["ca.pem"]).toBe(new X509Certificate(caCertificate).toString());
      expect(visibleInputs(own)).not.toContain(caPrivateKey.split("\n")[1]);

      // Another key than the certificate's: refused at plan time, the key never quoted.
      const mismatched = parseStackSettings({ target: "kubernetes", caCertificate, caPrivateKey: fixture("other.key") }, new Set(["caPrivateKey"]));
      await expect(captureResources("test", () => deployMesh(mismatched))).rejects.toThrow(/"mesh:caCertificate": expected a CA certificate and its private key \(mesh:caPrivateKey\) that can issue the mesh's certificates, got the CA private key does not match/);
    }
  });

  it("makes Redis require the generated password from its Secret, with authenticating probes, and gives it to the cart", () => {
    const password = `${MOCK_SECRET_PREFIX}redis`;
    expect(secretValue((named(run, "mesh-redis-credentials").inputs as Obj).stringData)).toEqual({ REDISCLI_AUTH: password });
    const redis = podSpec(named(run, "mesh-redis-statefulset")).containers[0] as Obj;
    expect(redis.env).toEqual([{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "mesh-redis-credentials", key: "REDISCLI_AUTH" } } }]);
    // requirepass comes from that variable; the args and probes only name it.
    expect(redis.args.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(redis.args[2]).toContain("requirepass $REDISCLI_AUTH");
    expect(redis.args.slice(3)).toEqual(["redis-server", "--appendonly", "yes"]);
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      // redis-cli authenticates from REDISCLI_AUTH and exits 0 on NOAUTH: the probe wants PONG.
      expect(redis[probe].exec.command, probe).toEqual(["sh", "-c", "redis-cli ping | grep -qx PONG"]);
    }
    expect(JSON.stringify(redis)).not.toContain(password);
    const cartEnv = (named(run, "mesh-cart-env").inputs as Obj).stringData;
    expect(secretValue(cartEnv)).toMatchObject({ REDIS_URL: `redis://:${password}@127.0.0.1:${DATA_STORES.redis.port}` });
  });

  it("creates data stores and the policies before the apps, and loads each rebuilt image into kind first", () => {
    const uses: Record<string, string[]> = { catalog: ["postgres"], cart: ["redis"], orders: ["postgres", "rabbitmq"], "order-worker": ["postgres", "rabbitmq"] };
    for (const [service, stores] of Object.entries(uses)) {
      const deployment = named(run, `mesh-${service}-deployment`);
      for (const store of stores) expect(dependsOnName(deployment, `mesh-${store}-statefulset`), `${service} after ${store}`).toBe(true);
      expect(dependsOnName(deployment, "mesh-network-policies-default-deny")).toBe(true);
      expect(dependsOnName(deployment, `mesh-${service}-kind-load`)).toBe(true);
      expect(named(run, `mesh-${service}-kind-load`).inputs).toMatchObject({
        create: `kind load docker-image --name mesh mesh-${service}:local`,
        triggers: [`sha256:mock-mesh-${service}-image`],
      });
      expect(podSpec(deployment).containers[0].image).toBe(`mesh-${service}:local`);
    }
  });

  it("denies all traffic by default and allows exactly the mesh's flows", () => {
    const policy = (name: string) => (named(run, `mesh-network-policies-${name}`).inputs as Obj).spec;
    expect(policy("default-deny")).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(policy("postgres").ingress).toEqual([
      { ports: [{ protocol: "TCP", port: 5432 }], from: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["catalog", "order-worker", "orders"] }] } }] },
    ]);
    expect(policy("postgres").egress).toEqual([]);
    expect(policy("catalog").egress).toEqual([
      { ports: [{ protocol: "TCP", port: 5432 }], to: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["postgres"] }] } }] },
      { ports: [{ protocol: "TCP", port: PORTS.zipkin }], to: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["zipkin"] }] } }] },
    ]);
    // The worker serves no API: neither the edge nor another service may call it.
    const flows = meshFlows(buildMeshModel());
    // Prometheus scrapes it (Envoy's and the app's metrics) on the sidecar's metrics listener only.
    expect(flows.filter((f) => f.to === "order-worker")).toEqual([{ from: "prometheus", to: "order-worker", port: PORTS.envoyMetrics }]);
    expect(flows).toContainEqual({ from: "orders", to: "catalog", port: PORTS.sidecarIngress });
    expect(flows.filter((f) => f.from === "outside").map((f) => f.to).sort()).toEqual(["edge", "edge", "grafana", "prometheus", "zipkin"]);
  });

  it("gives every Envoy the workers its CPU limit allows, starts it once its upstreams are healthy, and drains it before it stops", () => {
    const envoys = [podSpec(named(run, "mesh-edge-deployment")).containers[0], ...SERVICE_NAMES.map((s) => podSpec(named(run, `mesh-${s}-deployment`)).initContainers[0])] as Obj[];
    for (const envoy of envoys) {
      const args = envoy.args as string[];
      // 0.5 CPU: one worker, not one per core of the node.
      expect(args[args.indexOf("--concurrency") + 1]).toBe(String(envoyConcurrency(WORKLOAD_SIZES.envoy)));
      expect(envoy.resources.limits.cpu).toBe("500m");
      expect(args[args.indexOf("--drain-time-s") + 1]).toBe(String(ENVOY_DRAIN_SECONDS));
      const drain = envoy.lifecycle.preStop.exec.command as string[];
      expect(drain.slice(0, 2)).toEqual(["/bin/bash", "-c"]);
      expect(drain[2]).toContain(`/dev/tcp/127.0.0.1/${PORTS.envoyAdmin}`);
      expect(drain[2]).toContain("POST /drain_listeners?graceful");
      // Not started (so not Ready) until every service it routes to has a healthy host.
      expect(envoy.startupProbe.httpGet).toEqual({ path: UPSTREAMS_READY_PATH, port: PORTS.envoyMetrics });
    }
    // The edge drains everything at once. A sidecar's preStop runs as the pod starts terminating, beside the
    // app's: it waits until callers moved away, then drains only its inbound listeners (the app still needs egress).
    expect((envoys[0]?.lifecycle.preStop.exec.command as string[])[2]).toMatch(/^exec 3<>.*POST \/drain_listeners\?graceful HTTP/);
    for (const sidecar of envoys.slice(1)) {
      expect((sidecar.lifecycle.preStop.exec.command as string[])[2]).toMatch(new RegExp(`^sleep ${ENDPOINT_DRAIN_SECONDS}; exec 3<>.*POST /drain_listeners\\?graceful&inboundonly HTTP`));
    }
    expect(envoyConcurrency({ cpu: 0.25, memoryMiB: 1 })).toBe(1);
    expect(envoyConcurrency({ cpu: 2.5, memoryMiB: 1 })).toBe(2);
  });

  it("asks the scheduler for about one core in all, so the whole mesh fits a 2-core node beside the cluster's own pods", () => {
    const millicores = (cpu: string) => Number(cpu.replace(/m$/, ""));
    const requested = workloads().reduce((sum, w) => sum + allContainers(w).reduce((s, c) => s + millicores(c.resources.requests.cpu), 0) * ((w.inputs as Obj).spec.replicas ?? 1), 0);
    // A real 2-core node left pods Pending for "Insufficient cpu" when each container asked for a quarter of its limit.
    expect(requested).toBe(1050);
  });

  it("bounds every app's V8 heap, young and old generations, so heap and off-heap memory fit its container's limit", () => {
    const { semiSpaceMiB, oldSpaceMiB } = nodeHeapLimits(WORKLOAD_SIZES.app);
    expect(2 * semiSpaceMiB + oldSpaceMiB + NODE_OFF_HEAP_MIB).toBeLessThanOrEqual(WORKLOAD_SIZES.app.memoryMiB);
    for (const service of SERVICE_NAMES) {
      const env = podSpec(named(run, `mesh-${service}-deployment`)).containers[0].env as Array<{ name: string; value?: string }>;
      expect(env.find((e) => e.name === "NODE_OPTIONS")?.value).toBe(`--max-semi-space-size=${semiSpaceMiB} --max-old-space-size=${oldSpaceMiB}`);
      expect(podSpec(named(run, `mesh-${service}-deployment`)).containers[0].resources.limits.memory).toBe(`${WORKLOAD_SIZES.app.memoryMiB}Mi`);
    }
  });

  it("keeps a stopping app serving until callers found the other replicas, then failing their checks until they moved away, within a grace period that covers every step", () => {
    for (const service of SERVICE_NAMES) {
      const spec = podSpec(named(run, `mesh-${service}-deployment`));
      const [node, flag, script] = spec.containers[0].lifecycle.preStop.exec.command as [string, string, string];
      expect([node, flag]).toEqual(["node", "-e"]);
      // First wait until callers have re-resolved the service, then fail their health checks, then wait until they noticed.
      const [, discoveryMs] = /,(\d+)\)$/.exec(script) ?? [];
      expect(Number(discoveryMs) / 1000).toBeGreaterThanOrEqual(CLUSTER_DNS_TTL_SECONDS + DNS_REFRESH_SECONDS + HEALTH_CHECK_TIMING.intervalSeconds);
      expect(script).toMatch(new RegExp(`^setTimeout\\(\\(\\)=>fetch\\("http://127\\.0\\.0\\.1:${PORTS.envoyAdmin}/healthcheck/fail",\\{method:"POST"`));
      expect(script).toContain(`setTimeout(()=>{},${CALLER_HEALTH_NOTICE_SECONDS * 1000})`);
      expect(Number(discoveryMs) / 1000 + CALLER_HEALTH_NOTICE_SECONDS).toBe(ENDPOINT_DRAIN_SECONDS);
      expect(spec.terminationGracePeriodSeconds).toBe(POD_STOP_GRACE_SECONDS);
      expect(POD_STOP_GRACE_SECONDS).toBeGreaterThan(ENDPOINT_DRAIN_SECONDS + APP_SHUTDOWN_TIMEOUT_MS / 1000 + ENVOY_DRAIN_SECONDS);
    }
    expect(podSpec(named(run, "mesh-edge-deployment")).terminationGracePeriodSeconds).toBeGreaterThan(ENVOY_DRAIN_SECONDS);
  });

  it("spreads every service's replicas over nodes and keeps all but one of a replicated service through a drain", () => {
    for (const service of SERVICE_NAMES) {
      expect(podSpec(named(run, `mesh-${service}-deployment`)).topologySpreadConstraints).toEqual([
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { "app.kubernetes.io/name": service } }, matchLabelKeys: ["pod-template-hash"] },
      ]);
    }
    // catalog runs 2 replicas here, the others 1: a budget of one for a single replica would block every drain.
    expect(ofType(run, PDB).map((p) => (p.inputs as Obj).metadata.name)).toEqual(["catalog"]);
    expect((named(run, "mesh-catalog-disruption-budget").inputs as Obj).spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "catalog" } } });
  });

  it("never pulls the app images it loaded into kind", () => {
    for (const service of SERVICE_NAMES) {
      expect(podSpec(named(run, `mesh-${service}-deployment`)).containers[0].imagePullPolicy).toBe("IfNotPresent");
    }
  });
});

describe("kubernetes target: images and passwords from stack config", () => {
  const digest = (n: number) => `sha256:${String(n).repeat(64)}`;
  const appImages = Object.fromEntries(SERVICE_NAMES.map((s, i) => [s, `registry.example.com/mesh/mesh-${s}@${digest(i + 1)}`]));
  const images = { envoy: "mirror.example.com/envoyproxy/envoy:v1.40.0", postgres: "mirror.example.com/library/postgres:15.18-bookworm" };

  it("runs the given app images as they are: nothing built, nothing loaded into kind", async () => {
    const given = await runMesh({ target: "kubernetes", kubeContext: "kind-mesh", appImages, images });
    expect(ofType(given, "docker:index/image:Image")).toEqual([]);
    expect(ofType(given, "command:local:Command")).toEqual([]);
    for (const service of SERVICE_NAMES) {
      const spec = podSpec(named(given, `mesh-${service}-deployment`));
      expect(spec.containers[0].image).toBe(appImages[service]);
      expect(spec.initContainers[0].image).toBe(images.envoy);
    }
    expect(podSpec(named(given, "mesh-edge-deployment")).containers[0].image).toBe(images.envoy);
    expect(podSpec(named(given, "mesh-postgres-statefulset")).containers[0].image).toBe(images.postgres);
    // The images not named stay pinned.
    expect(podSpec(named(given, "mesh-redis-statefulset")).containers[0].image).toBe(parseStackSettings({ target: "kubernetes" }).images.redis);
  });

  it("pushes built images to the stack's registry and runs them by digest, without kind", async () => {
    const pushed = await runMesh({ target: "kubernetes", kubeContext: "prod", imageRegistry: "registry.example.com:5000/mesh" });
    expect(ofType(pushed, "command:local:Command")).toEqual([]);
    for (const service of SERVICE_NAMES) {
      const image = named(pushed, `mesh-${service}-image`);
      expect(image.inputs).toMatchObject({ imageName: `registry.example.com:5000/mesh/mesh-${service}:latest`, skipPush: false });
      // The mocks' repoDigest: what the provider reports after the push.
      expect(podSpec(named(pushed, `mesh-${service}-deployment`)).containers[0].image).toBe(`sha256:mock-mesh-${service}-image`);
    }
  });

  it("declares no random resource when the stack provides every password, and uses them as secrets", async () => {
    const passwords = Object.fromEntries(PASSWORD_NAMES.map((name) => [passwordKey(name), `provided${name}0123456789`]));
    const settings = parseStackSettings({ target: "kubernetes", ...passwords }, new Set(Object.keys(passwords)));
    const { resources } = await captureResources("test", () => deployMesh(settings));
    const provided: MockRun = { settings, resources };
    expect(resources.filter((r) => r.type.startsWith("random:"))).toEqual([]);
    const redis = (named(provided, "mesh-redis-credentials").inputs as Obj).stringData;
    expect(secretValue(redis)).toEqual({ REDISCLI_AUTH: passwords.redisPassword });
    expect(visibleInputs(provided)).not.toContain("provided");
    // One provided, the rest generated.
    const one = parseStackSettings({ target: "kubernetes", redisPassword: passwords.redisPassword }, new Set(["redisPassword"]));
    const partial = await captureResources("test", () => deployMesh(one));
    expect(partial.resources.filter((r) => r.type.startsWith("random:")).map((r) => r.name).sort()).toEqual([
      "mesh-secrets-grafana-admin",
      "mesh-secrets-mesh-ca",
      "mesh-secrets-postgres-app",
      "mesh-secrets-postgres-superuser",
      "mesh-secrets-rabbitmq",
    ]);
  });
});

describe("kubernetes target without Grafana (mesh:grafana false)", () => {
  it("runs no Grafana and lets nothing reach for one; Prometheus, Zipkin and the dashboards' files stay", async () => {
    const byo = await runMesh({ target: "kubernetes", grafana: false });
    const names = byo.resources.map((r) => r.name);
    expect(names.filter((n) => n.includes("grafana"))).toEqual([]);
    expect(ofType(byo, DEPLOYMENT).map((d) => d.name)).toEqual(expect.arrayContaining(["mesh-observability-prometheus", "mesh-observability-zipkin"]));
    expect(meshFlows(buildMeshModel(), { grafana: false }).filter((f) => f.from === "grafana" || f.to === "grafana")).toEqual([]);
    const prometheus = parse((named(byo, "mesh-observability-config").inputs as Obj).data["prometheus.yml"]) as Obj;
    expect(prometheus.scrape_configs.map((c: Obj) => c.job_name)).not.toContain("grafana");
  });
});

describe("kubernetes target: releases, faults and rate limits", () => {
  const appImages = { catalog: "registry.example.com/mesh/mesh-catalog:1.2.0" };
  const canaryImage = "registry.example.com/mesh/mesh-catalog:1.3.0";
  const withCanary = (weightPercent: number, extra: Record<string, unknown> = {}) =>
    runMesh({ target: "kubernetes", kubeContext: "kind-mesh", appImages, canaries: { catalog: { weightPercent, replicas: 1, image: canaryImage } }, ...extra });

  it("gives every Envoy its routes and service clusters from a ConfigMap of a fixed name, patched in place", () => {
    const inPlace = named(run, "mesh-identities").inputs as Obj;
    // Provider inputs reach the engine as strings.
    expect(inPlace).toMatchObject({ enableConfigMapMutable: "true", enableSecretMutable: "true" });
    for (const [workload, component] of [["edge", "edge"], ...SERVICE_NAMES.map((s) => [s, s])] as const) {
      const dynamic = named(run, `mesh-${workload}-envoy-dynamic`);
      expect((dynamic.inputs as Obj).metadata.name).toBe(`${component}-envoy-dynamic`);

      expect(Object.keys((dynamic.inputs as Obj).data)).toContain("clusters.yaml");
      const spec = podSpec(named(run, `mesh-${workload}-deployment`));
      expect(spec.volumes.find((v: Obj) => v.name === "envoy-dynamic").configMap.name).toBe(`${component}-envoy-dynamic`);
      const envoy = [...(spec.initContainers ?? []), ...spec.containers].find((c: Obj) => c.name === "envoy") as Obj;
      expect(envoy.volumeMounts).toContainEqual({ name: "envoy-dynamic", mountPath: "/etc/envoy-dynamic", readOnly: true });
      // The bootstrap reads them from there: no route or service cluster of its own.
      const bootstrap = parse((named(run, `mesh-${workload}-envoy`).inputs as Obj).data["envoy.yaml"]) as Obj;
      expect(bootstrap.dynamic_resources.cds_config.path_config_source.watched_directory.path).toBe("/etc/envoy-dynamic");
    }
  });

  it("runs a canary as workloads of its own with its own image, allowed the flows its service has", async () => {
    const canary = await withCanary(10);
    const added = canary.resources.filter((r) => !run.resources.some((o) => o.type === r.type && o.name === r.name)).map((r) => `${r.type}::${r.name}`);
    expect(added.filter((k) => k.includes("canary")).sort()).toEqual(
      [
        "kubernetes:apps/v1:Deployment::mesh-catalog-canary-deployment",
        "kubernetes:core/v1:ConfigMap::mesh-catalog-canary-envoy",
        "kubernetes:core/v1:ConfigMap::mesh-catalog-canary-envoy-dynamic",
        "kubernetes:core/v1:Secret::mesh-catalog-canary-env",
        "kubernetes:core/v1:Secret::mesh-catalog-canary-identity",
        "kubernetes:core/v1:Service::mesh-catalog-canary-service",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy::mesh-network-policies-catalog-canary",
        "mesh:kubernetes:ServiceWithSidecar::mesh-catalog-canary",
      ].sort(),
    );
    const deployment = named(canary, "mesh-catalog-canary-deployment").inputs as Obj;
    expect(deployment.metadata.name).toBe("catalog-canary");
    expect(deployment.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "catalog-canary" });
    expect(podSpec(named(canary, "mesh-catalog-canary-deployment")).containers[0].image).toBe(canaryImage);
    expect(podSpec(named(canary, "mesh-catalog-deployment")).containers[0].image).toBe(appImages.catalog);
    // The edge and orders (catalog's callers) may reach the canary as they reach catalog.
    const flows = meshFlows(meshModelFor(canary.settings)).filter((f) => f.to === "catalog-canary" || f.from === "catalog-canary");
    expect(flows).toEqual(expect.arrayContaining([
      { from: "edge", to: "catalog-canary", port: PORTS.sidecarIngress },
      { from: "orders", to: "catalog-canary", port: PORTS.sidecarIngress },
      { from: "catalog-canary", to: "postgres", port: DATA_STORES.postgres.port },
    ]));
    const edgeClusters = parse((named(canary, "mesh-edge-envoy-dynamic").inputs as Obj).data["clusters.yaml"]) as Obj;
    expect(edgeClusters.resources.map((c: Obj) => c.name)).toEqual(["catalog", "catalog-canary", "cart", "orders"]);
  });

  it("changes only the dynamic ConfigMaps for a new weight, fault or rate limit: no pod template, so no pod, changes", async () => {
    const before = await withCanary(10);
    const after = await withCanary(50, {
      faults: { catalog: { abortPercent: 20, abortStatus: 500, release: "canary" } },
      rateLimits: { "/api/orders": { requestsPerSecond: 50, burst: 100 } },
    });
    const inputsOf = (r: MockRun) => new Map(r.resources.map((res) => [`${res.type}::${res.name}`, JSON.stringify(res.inputs)]));
    const [a, b] = [inputsOf(before), inputsOf(after)];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const changed = [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();
    expect(changed).toEqual([
      "kubernetes:core/v1:ConfigMap::mesh-catalog-canary-envoy-dynamic",
      "kubernetes:core/v1:ConfigMap::mesh-edge-envoy-dynamic",
      "kubernetes:core/v1:ConfigMap::mesh-orders-envoy-dynamic",
    ]);
  });
});
