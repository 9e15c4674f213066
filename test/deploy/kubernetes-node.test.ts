// The Kubernetes target running for real: `pulumi up` through the real engine
// onto a one-node cluster whose kubelet runs the pods in containerd, with cluster
// DNS, kube-proxy NodePorts and NetworkPolicies enforced (test/deploy/real-node.ts),
// and the images built here. Then the mesh is driven through its NodePort gateway:
// the public API, an order to fulfilment, scrapes, a trace, the policies from a
// probe pod, and rollouts, scaling, pod and proxy deaths under traffic.
import { request as httpsRequest } from "node:https";
import { checkServerIdentity } from "node:tls";
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_PORTS } from "../../infra/kubernetes/node-ports.js";
import { buildMeshModel, callersOf, DATA_STORES, PORTS, SERVICE_NAMES } from "../../infra/model.js";
import { DEFAULT_ROLLOUT_POLICY } from "../../infra/traffic.js";
import { prometheusQuerier } from "../../tools/rollout/release-metrics.js";
import { type RolloutTarget, runRollout } from "../../tools/rollout/rollout.js";
import { automationStack, type StackControl, stackRolloutTarget } from "../../tools/rollout/stack-target.js";
import { formatLoad, prometheusQuery, prometheusTargets, request, startLoad, zipkinTraces, type Load, type ZipkinSpan } from "../e2e/support.js";
import { waitFor } from "../support/net.js";
import { KubeApi } from "./kube-api.js";
import { type ImageManifest, type PodState, type RealCluster, buildImages, nodeAddress, offerHostVolumes, peakMemoryMiB, podStates, startRealCluster } from "./real-node.js";
import { providedPasswords, stackConfig, throwawayStack } from "./workspace.js";

const NAMESPACE = "mesh-node-test";
const STACK = "node-test";
const passwords = providedPasswords();

describe("the kubernetes target on a real node", () => {
  const work = mkdtempSync(join(tmpdir(), "mesh-node-"));
  let cluster: RealCluster;
  let api: KubeApi;
  let stack: Stack;
  let images: ImageManifest;
  let volumes: string[] = [];
  let gateway: string;
  /** The mesh CA's certificate, as the stack's output gives it. */
  let meshCa = "";
  let prometheus: string;
  let zipkin: string;
  let product: { id: string };
  const settings = (extra: Record<string, unknown>) => ({
    target: "kubernetes",
    kubeContext: "mesh-test",
    namespace: NAMESPACE,
    images: images.images,
    appImages: images.appImages,
    grafana: false,
    replicas: { catalog: 2 },
    // Every request traced (the stack default is 1 %): the Zipkin test looks for the trace of one GET.
    traceSamplingPercent: 100,
    ...extra,
  });
  const deploy = async (extra: Record<string, unknown>) => {
    await stack.setAllConfig(stackConfig(settings(extra), passwords));
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    return up;
  };
  const pods = () => podStates(api, NAMESPACE);
  /**
   * Waits until none of `names` is left, terminating ones included: a leaving pod
   * drains after `up` returns, and the load must run until it has gone.
   */
  const waitGone = (names: readonly string[]) =>
    waitFor(`pods ${names.join(", ")} gone`, async () => {
      const left = new Set(((await api.list(`/api/v1/namespaces/${NAMESPACE}/pods`)) as Array<{ metadata: { name: string } }>).map((p) => p.metadata.name));
      return names.every((name) => !left.has(name));
    }, 180_000, 500);
  /**
   * Reads of a product and a cart through the gateway, bounded in count and time.
   * The first failures are printed (when, which path, the answer) when it stops.
   */
  const steadyLoad = (maxDurationMs: number, maxRequests = 40_000): Load => {
    const started = Date.now();
    const failures: string[] = [];
    const load = startLoad({
      concurrency: 4,
      maxRequests,
      maxDurationMs,
      send: async (i) => {
        const path = i % 2 ? `/api/products/${product.id}` : `/api/carts/node-load-${i % 5}`;
        const res = await request("GET", `${gateway}${path}`).catch((err: Error) => ({ status: 0, body: err.message }));
        if ((res.status === 0 || res.status >= 500) && failures.length < 10) {
          failures.push(`+${((Date.now() - started) / 1000).toFixed(1)} s ${path} ${res.status} ${JSON.stringify(res.body)}`);
        }
        return res.status;
      },
    });
    return {
      ...load,
      stop: async () => {
        const result = await load.stop();
        if (failures.length > 0) console.log(`[node] first failures:\n  ${failures.join("\n  ")}`);
        return result;
      },
    };
  };

  beforeAll(async () => {
    let started = Date.now();
    images = buildImages();
    console.log(`[node] images ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    started = Date.now();
    cluster = startRealCluster(join(work, "cluster"));
    api = new KubeApi(cluster.kubeconfig);
    const node = await nodeAddress(api);
    console.log(`[node] cluster with a Ready node and CoreDNS in ${((Date.now() - started) / 1000).toFixed(0)} s; node at ${node}`);
    volumes = await offerHostVolumes(api, join(work, "volumes"), Object.keys(DATA_STORES).length);
    gateway = `http://${node}:${NODE_PORTS.gateway}`;
    prometheus = `http://${node}:${NODE_PORTS.prometheus}`;
    zipkin = `http://${node}:${NODE_PORTS.zipkin}`;
    stack = await throwawayStack(STACK, work, { PULUMI_HOME: join(work, "home"), KUBECONFIG: cluster.kubeconfig });
  });

  afterAll(async () => {
    await stack?.destroy({ color: "never" }).catch(() => undefined);
    await stack?.workspace.removeStack(STACK).catch(() => undefined);
    for (const name of volumes) await api.send("DELETE", `/api/v1/persistentvolumes/${name}`).catch(() => undefined);
    cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("stands the mesh up: every pod Ready on the node, no container restarted", async () => {
    const started = Date.now();
    const up = await deploy({});
    meshCa = String(up.outputs.meshCaCertificate?.value ?? "");
    console.log(`[node] pulumi up: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const states = await pods();
    expect(states.map((p) => p.component).sort()).toEqual(["cart", "catalog", "catalog", "edge", "order-worker", "orders", "postgres", "prometheus", "rabbitmq", "redis", "zipkin"]);
    for (const pod of states) {
      expect(pod.ready, `${pod.name} Ready`).toBe(true);
      for (const c of pod.containers) expect(c.restarts, `${pod.name}/${c.name} restarts`).toBe(0);
    }
  });

  it("serves the public API over HTTPS at the NodePort, its generated certificate chaining to the CA the stack outputs", async () => {
    expect(meshCa).toContain("-----BEGIN CERTIFICATE-----");
    const node = await nodeAddress(api);
    const status = await new Promise<number>((resolve, reject) => {
      // The generated certificate names the host's loopback (where kind maps the NodePort), checked by that name.
      const req = httpsRequest(
        { host: node, port: NODE_PORTS.gatewayHttps, path: "/api/products?limit=1", ca: meshCa, servername: "localhost", checkServerIdentity: (_h, cert) => checkServerIdentity("localhost", cert), agent: false, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(200);
  });

  it("serves the public API through the NodePort gateway, and an order reaches fulfilled through the queue", async () => {
    const created = await request("POST", `${gateway}/api/products`, { sku: `node-${randomBytes(4).toString("hex")}`, name: "Real pod", priceCents: 1234 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    product = created.body as { id: string };
    expect((await request("GET", `${gateway}/api/products/${product.id}`)).body).toMatchObject({ id: product.id, priceCents: 1234 });
    const cartId = randomUUID();
    expect((await request("PUT", `${gateway}/api/carts/${cartId}/items/${product.id}`, { quantity: 2 })).status).toBeLessThan(300);
    expect((await request("GET", `${gateway}/api/carts/${cartId}`)).body).toEqual({ cartId, items: [{ productId: product.id, quantity: 2 }] });
    const order = await request("POST", `${gateway}/api/orders`, { items: [{ productId: product.id, quantity: 1 }] });
    expect(order.status, JSON.stringify(order.body)).toBe(202);
    const { id } = order.body as { id: string };
    await waitFor("the order to be fulfilled", async () => ((await request("GET", `${gateway}/api/orders/${id}`)).body as { status: string }).status === "fulfilled", 60_000, 500);
    expect((await request("GET", `${gateway}/api/nothing-here`)).status).toBe(404);
  });

  it("has Prometheus scraping every Envoy and app, and Zipkin joining one request's spans from the edge to the app", async () => {
    let targets: Awaited<ReturnType<typeof prometheusTargets>> = [];
    await waitFor("every Prometheus target up", async () => {
      targets = await prometheusTargets(prometheus);
      return targets.length > 0 && targets.every((t) => t.health === "up") && targets.filter((t) => t.labels.job === "envoy").length === 6;
    }, 120_000, 1000).catch((err: Error) => {
      throw new Error(`${err.message}\n${targets.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`).join("\n")}`);
    });
    const jobs = (job: string) => targets.filter((t) => t.labels.job === job).length;
    // Edge + 5 sidecars (catalog runs 2), 5 app replicas, Prometheus itself.
    expect([jobs("envoy"), jobs("app"), jobs("prometheus")]).toEqual([6, 5, 1]);

    const since = Date.now();
    expect((await request("GET", `${gateway}/api/products/${product.id}`)).status).toBe(200);
    let trace: ZipkinSpan[] = [];
    await waitFor("a joined trace in Zipkin", async () => {
      const traces = await zipkinTraces(zipkin, { serviceName: "edge", lookback: String(Date.now() - since + 60_000), limit: "20" });
      trace = traces.find((t) => t.some((s) => s.localEndpoint?.serviceName === "catalog" && s.kind === "SERVER")) ?? [];
      return new Set(trace.map((s) => s.localEndpoint?.serviceName)).size >= 3;
    }, 60_000, 1000);
    expect(new Set(trace.map((s) => s.traceId)).size).toBe(1);
    expect([...new Set(trace.map((s) => s.localEndpoint?.serviceName))]).toEqual(expect.arrayContaining(["edge", "catalog-sidecar", "catalog"]));
  });

  /**
   * Runs a short-lived pod labelled as `component` that tries each TCP target; which ones it reached.
   * With `settleOn`, a target the component may reach, it first waits (up to 30 s) until that one
   * opens: the enforcer admits a new pod's address to the policies' sets a moment after the pod
   * starts, and a check before that would find an allowed port closed.
   */
  async function probeFrom(component: string, targets: Record<string, { host: string; port: number }>, settleOn?: keyof typeof targets): Promise<Record<string, boolean>> {
    const name = `probe-${component}-${randomBytes(3).toString("hex")}`;
    const connect = (t: { host: string; port: number }, seconds: number) => `timeout ${seconds} bash -c 'exec 3<>/dev/tcp/${t.host}/${t.port}' 2>/dev/null`;
    const settle = settleOn === undefined ? [] : [`for _ in $(seq 1 30); do ${connect(targets[settleOn]!, 1)} && break; sleep 1; done`];
    const lines = [...settle, ...Object.entries(targets).map(([label, t]) => `if ${connect(t, 3)}; then echo "open ${label}"; else echo "closed ${label}"; fi`)];
    const created = await api.send("POST", `/api/v1/namespaces/${NAMESPACE}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { "app.kubernetes.io/name": component } },
      spec: {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "probe",
            image: images.probe,
            imagePullPolicy: "Never",
            command: ["/bin/bash", "-c", lines.join("\n")],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
          },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor(`probe ${name} to finish`, async () => ["Succeeded", "Failed"].includes(((await api.get(`/api/v1/namespaces/${NAMESPACE}/pods/${name}`)).status as { phase: string }).phase), 120_000, 500);
    const log = (await api.send("GET", `/api/v1/namespaces/${NAMESPACE}/pods/${name}/log`)).body as string;
    await api.send("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${name}?gracePeriodSeconds=0`);
    return Object.fromEntries(Object.keys(targets).map((label) => [label, log.includes(`open ${label}`)]));
  }

  it("enforces the NetworkPolicies: a pod reaches only what the model lets its component reach, and no Envoy admin", async () => {
    const states = await pods();
    const ipOf = (component: string) => states.find((p) => p.component === component)?.ip ?? "";
    const targets = {
      postgres: { host: ipOf("postgres"), port: DATA_STORES.postgres.port },
      redis: { host: ipOf("redis"), port: DATA_STORES.redis.port },
      rabbitmq: { host: ipOf("rabbitmq"), port: DATA_STORES.rabbitmq.port },
      catalogIngress: { host: ipOf("catalog"), port: PORTS.sidecarIngress },
      catalogApp: { host: ipOf("catalog"), port: PORTS.app },
      catalogAdmin: { host: ipOf("catalog"), port: PORTS.envoyAdmin },
      edgeAdmin: { host: ipOf("edge"), port: PORTS.envoyAdmin },
      zipkinByName: { host: `zipkin.${NAMESPACE}.svc.cluster.local`, port: PORTS.zipkin },
    };
    // A pod of no component: default deny leaves it DNS only.
    expect(await probeFrom("intruder", targets)).toEqual(Object.fromEntries(Object.keys(targets).map((k) => [k, false])));
    // A pod passing for the cart: Redis and Zipkin (by its cluster DNS name) as the cart's policy says, nothing else.
    expect(await probeFrom("cart", targets, "redis")).toEqual({ ...Object.fromEntries(Object.keys(targets).map((k) => [k, false])), redis: true, zipkinByName: true });
    // Passing for orders: Postgres, RabbitMQ and catalog's mesh port, never the app behind it or an admin.
    expect(await probeFrom("orders", targets, "postgres")).toEqual({
      ...Object.fromEntries(Object.keys(targets).map((k) => [k, false])),
      postgres: true,
      rabbitmq: true,
      catalogIngress: true,
      zipkinByName: true,
    });
  });

  it("rolls every service on a config change under traffic without one failed request", async () => {
    const load = steadyLoad(600_000);
    // Probe pods borrow the services' labels; they are not the mesh's.
    const before = (await pods()).filter((p) => !p.name.startsWith("probe-"));
    const rolled = new Set<string>([...SERVICE_NAMES, "edge"]);
    const leaving = before.filter((p) => rolled.has(p.component)).map((p) => p.name);
    await deploy({ envoyLogLevel: "warning" });
    await waitGone(leaving);
    const result = await load.stop();
    console.log(`[node] ${formatLoad("rollout of every service", result)}`);
    const after = await pods();
    // Every service and the edge has new pods only; the data stores were left alone.
    for (const component of rolled) expect(after.filter((p) => p.component === component).length, component).toBeGreaterThan(0);
    const kept = (p: PodState) => !rolled.has(p.component) && !p.name.startsWith("probe-");
    expect(after.filter(kept).map((p) => p.name).sort()).toEqual(before.filter(kept).map((p) => p.name).sort());
    expect(result.total).toBeGreaterThan(100);
    expect(result.errors, JSON.stringify(result.statuses)).toBe(0);
  });

  it("scales catalog 2 → 3 → 2 under traffic without one failed request", async () => {
    for (const replicas of [3, 2]) {
      const load = steadyLoad(300_000);
      const before = (await pods()).filter((p) => p.component === "catalog").map((p) => p.name);
      await deploy({ envoyLogLevel: "warning", replicas: { catalog: replicas } });
      await waitFor(`${replicas} catalog pods`, async () => (await pods()).filter((p) => p.component === "catalog" && p.ready).length === replicas, 120_000, 500);
      // Scaling down: until the removed replica has drained and gone.
      const now = new Set((await pods()).map((p) => p.name));
      await waitGone(before.filter((name) => !now.has(name)));
      const result = await load.stop();
      console.log(`[node] ${formatLoad(`catalog scaled to ${replicas}`, result)}`);
      expect(result.errors, JSON.stringify(result.statuses)).toBe(0);
    }
  });

  it("renews every certificate under traffic: only the identity Secrets change, no pod rolls, no request fails, every Envoy reloads its files", async () => {
    // Each Envoy's count of TLS contexts rebuilt from new SDS files, per pod (its listeners' and clusters' together).
    const reloads = async () =>
      new Map(
        (await prometheusQuery(prometheus, 'sum by (service, replica) ({__name__=~"envoy_.*ssl_context_update_by_sds", job="envoy"})')).map((r) => [
          `${r.metric.service}/${r.metric.replica}`,
          Number(r.value[1]),
        ]),
      );
    // One series per Envoy pod (the edge, two catalogs, cart, orders, the worker), once the replica
    // the scale-down removed has left Prometheus's discovery.
    let before = new Map<string, number>();
    await waitFor("Prometheus to see exactly the 6 Envoy pods", async () => (before = await reloads()).size === 6, 120_000, 5000);
    const podsBefore = (await pods()).filter((p) => !p.name.startsWith("probe-"));
    const load = steadyLoad(300_000);
    // A new lifetime issues new certificates and keys now, as an up past two thirds of the old lifetime would.
    const up = await deploy({ envoyLogLevel: "warning", certificateLifetimeHours: 48 });
    const { same, update, ...others } = up.summary.resourceChanges ?? {};
    expect([update, others], JSON.stringify(up.summary.resourceChanges)).toEqual([1 + SERVICE_NAMES.length, {}]);
    expect(same).toBeGreaterThan(0);
    const started = Date.now();
    await waitFor("every Envoy to reload its renewed certificate", async () => {
      const now = await reloads();
      return [...before].every(([pod, count]) => (now.get(pod) ?? 0) > count);
    }, 240_000, 5000);
    console.log(`[node] renewed certificates reloaded by every Envoy within ${((Date.now() - started) / 1000).toFixed(0)} s of up`);
    const result = await load.stop();
    console.log(`[node] ${formatLoad("certificate renewal", result)}`);
    expect(result.errors, JSON.stringify(result.statuses)).toBe(0);
    const podsAfter = await pods();
    expect(podsAfter.filter((p) => !p.name.startsWith("probe-")).map((p) => p.name).sort()).toEqual(podsBefore.map((p) => p.name).sort());
    for (const pod of podsAfter) for (const c of pod.containers) expect(c.restarts, `${pod.name}/${c.name} restarts`).toBe(0);
  });

  it("loses under 0.1 % of requests when a catalog pod is deleted, and a killed sidecar Envoy is back within 10 s", async () => {
    const load = steadyLoad(120_000);
    const victim = (await pods()).find((p) => p.component === "catalog") as PodState;
    await api.send("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${victim.name}`);
    await waitFor("two catalog pods Ready again", async () => (await pods()).filter((p) => p.component === "catalog" && p.ready && p.name !== victim.name).length === 2, 120_000, 500);
    await waitGone([victim.name]);
    const deleted = await load.stop();
    console.log(`[node] ${formatLoad("a catalog pod deleted", deleted)}`);
    expect(deleted.ratio).toBeLessThan(0.001);

    const target = (await pods()).find((p) => p.component === "catalog") as PodState;
    const envoy = target.containers.find((c) => c.name === "envoy");
    if (!envoy) throw new Error(`${target.name} has no envoy container`);
    const pid = pidOfContainer(envoy.containerId);
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    await waitFor("the sidecar restarted and Ready", async () => {
      const now = (await pods()).find((p) => p.name === target.name);
      const c = now?.containers.find((x) => x.name === "envoy");
      return (c?.restarts ?? 0) > envoy.restarts && c?.ready === true;
    }, 30_000, 200);
    const back = (Date.now() - killedAt) / 1000;
    console.log(`[node] sidecar Envoy of ${target.name} killed: back in ${back.toFixed(1)} s`);
    expect(back).toBeLessThan(10);
  });

  it("rolls a catalog canary out through the rollout's stack target under traffic: each step waits for the callers' reload and changes only their dynamic ConfigMaps, the promotion removes the canary, no request fails", async () => {
    const withCanary = { envoyLogLevel: "warning", canaries: { catalog: { weightPercent: 10, replicas: 1, image: images.appImages.catalog } } };
    await deploy(withCanary);
    await waitFor("the canary pod Ready", async () => (await pods()).some((p) => p.component === "catalog-canary" && p.ready), 180_000, 1000);
    const before = (await pods()).filter((p) => !p.name.startsWith("probe-"));
    const canaryPods = before.filter((p) => p.component === "catalog-canary").map((p) => p.name);
    const log = (line: string) => console.log(`[node] ${line}`);
    const automation = automationStack(stack, log);
    const changes: Array<Readonly<Record<string, number>>> = [];
    const control: StackControl = { ...automation, up: async () => (changes.push(await automation.up()), changes.at(-1)!) };
    // The target first waits for the canary's start (the last up) to reach the callers; the load
    // measures the rollout from there. It takes about five minutes: the load must outlast it.
    const stackTarget = await stackRolloutTarget(control, { service: "catalog", callers: callersOf(buildMeshModel(), "catalog"), query: prometheusQuerier(prometheus), log });
    const load = steadyLoad(600_000, 200_000);
    const started = Date.now();
    // Each step's last figures, to check that a hold begins only once its weight is in force.
    let weight = 0;
    const lastFigures = new Map<number, Awaited<ReturnType<RolloutTarget["figures"]>>>();
    const target: RolloutTarget = {
      ...stackTarget,
      setWeight: async (w) => stackTarget.setWeight((weight = w)),
      figures: async (window) => {
        const figures = await stackTarget.figures(window);
        lastFigures.set(weight, figures);
        return figures;
      },
    };
    const result = await runRollout({ service: "catalog", policy: { ...DEFAULT_ROLLOUT_POLICY, steps: [50, 100], holdSeconds: 30 }, target, log });
    // The load runs on until the canary's pods have drained and gone.
    await waitGone(canaryPods);
    const traffic = await load.stop();
    console.log(`[node] rollout ${result.decision} in ${((Date.now() - started) / 1000).toFixed(0)} s; ${formatLoad("canary rollout", traffic)}`);
    expect(result.decision, result.reason).toBe("promoted");
    // The last hold (100 %) judged the canary on real traffic, not on too little to judge.
    expect(result.canary?.requests).toBeGreaterThanOrEqual(DEFAULT_ROLLOUT_POLICY.minRequests);
    expect(traffic.errors, JSON.stringify(traffic.statuses)).toBe(0);
    const at50 = lastFigures.get(50)!;
    expect(at50.canary.requests / (at50.canary.requests + at50.stable.requests), JSON.stringify(at50)).toBeGreaterThan(0.35);
    expect(at50.canary.requests / (at50.canary.requests + at50.stable.requests), JSON.stringify(at50)).toBeLessThan(0.65);
    // Steps 50 and 100, then weight 0 (the callers' dynamic ConfigMaps of the edge and orders, nothing
    // else); the canary's image to stable (the same image here: nothing); then the canary removed.
    const [step50, step100, image, weight0, removal] = changes;
    expect(changes.length).toBe(5);
    for (const weightChange of [step50, step100, weight0]) expect(Object.keys(weightChange!).filter((op) => op !== "same").map((op) => `${op} ${weightChange![op]}`)).toEqual(["update 2"]);
    expect(Object.keys(image!)).toEqual(["same"]);
    expect(removal!.delete).toBeGreaterThan(0);
    expect(Object.keys((await stack.getAllConfig())).filter((key) => key === "mesh:canaries")).toEqual([]);
    // Every other pod is the one that was there, with no container restarted (the earlier test's killed
    // sidecar keeps its count), but Prometheus's: its scrape config names the canary's hosts, so it
    // rolls when the canary goes.
    const afterAll = (await pods()).filter((p) => !p.name.startsWith("probe-"));
    const after = afterAll.filter((p) => p.component !== "prometheus");
    const stayed = before.filter((p) => p.component !== "catalog-canary" && p.component !== "prometheus");
    expect(afterAll.filter((p) => p.component === "prometheus" && p.ready).length).toBe(1);
    expect(after.map((p) => p.name).sort()).toEqual(stayed.map((p) => p.name).sort());
    const restarts = (list: PodState[]) => list.flatMap((p) => p.containers.map((c) => `${p.name}/${c.name} ${c.restarts}`)).sort();
    expect(restarts(after)).toEqual(restarts(stayed));
  });

  it("keeps every acknowledged order when the Postgres pod is deleted", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await request("POST", `${gateway}/api/orders`, { items: [{ productId: product.id, quantity: 1 }] });
      expect(res.status).toBe(202);
      ids.push((res.body as { id: string }).id);
    }
    const postgres = (await pods()).find((p) => p.component === "postgres") as PodState;
    await api.send("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${postgres.name}`);
    await waitFor("Postgres back and the API reading orders again", async () => (await request("GET", `${gateway}/api/orders/${ids[0]}`).catch(() => ({ status: 0 }))).status === 200, 180_000, 1000);
    // The pools reconnect after the restart (a request on a dead connection answers 503): each
    // order is read until it answers, and every one must be there.
    for (const id of ids) await waitFor(`order ${id} read back`, async () => (await request("GET", `${gateway}/api/orders/${id}`)).status === 200, 30_000, 500);
  });

  it("keeps every container inside its limits under load: none OOM-killed or restarted, every pod Ready", async () => {
    const restartsBefore = new Map((await pods()).flatMap((p) => p.containers.map((c) => [`${p.name}/${c.name}`, c.restarts] as const)));
    // Past what 0.5 CPU per app serves: the overflow is answered 503 busy by design; what counts
    // here is that no container is killed or restarted for it.
    const load = startLoad({
      concurrency: 16,
      maxRequests: 30_000,
      maxDurationMs: 45_000,
      send: async (i) => (await request("GET", i % 3 ? `${gateway}/api/products/${product.id}` : `${gateway}/api/products?limit=20`)).status,
    });
    const result = await load.done;
    console.log(`[node] ${formatLoad("load at 16 in flight", result)}`);
    const states = await pods();
    console.log(`[node] peak memory (MiB): ${states.map((pod) => `${pod.name} ${JSON.stringify(peakMemoryMiB(pod))}`).join("; ")}`);
    for (const pod of states) {
      for (const c of pod.containers) {
        expect(c.lastTerminated, `${pod.name}/${c.name}`).not.toBe("OOMKilled");
        expect(c.restarts, `${pod.name}/${c.name} restarted under load`).toBe(restartsBefore.get(`${pod.name}/${c.name}`));
      }
    }
    await waitFor("every pod Ready after the load", async () => (await pods()).every((p) => p.ready), 60_000, 500);
    expect(result.statuses[200]).toBeGreaterThan(1000);
  });

  it("destroys everything: no pod, volume claim or namespace of the mesh left", async () => {
    const destroy = await stack.destroy({ color: "never" });
    expect(destroy.summary.result).toBe("succeeded");
    expect((await api.send("GET", `/api/v1/namespaces/${NAMESPACE}`)).status).toBe(404);
    await stack.workspace.removeStack(STACK);
  });
});

/** The host PID of a container's first process: the one whose cgroup path names the container. */
function pidOfContainer(containerId: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(containerId) && readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "envoy") return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no envoy process in container ${containerId}`);
}
