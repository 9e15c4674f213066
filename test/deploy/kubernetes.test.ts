// The Kubernetes target through the real Pulumi engine and the real kubernetes
// provider, against a real API server (Pod Security admission on, RBAC, the
// controllers and scheduler, a kwok node on which pods turn Ready). The inline
// program is index.ts's: readStackSettings then deployMesh. App images and
// passwords come from stack config, so the stack needs no docker or random
// provider (neither can be installed here) and builds nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SERVICE_NAMES } from "../../infra/model.js";
import { REDIS_PASSWORD_ENV } from "../../infra/redis-auth.js";
import { waitFor } from "../support/net.js";
import { type KubeObject, KubeApi } from "./kube-api.js";
import { changedBetween, declared, lifetimeHoursWithoutRenewal, operations, providedPasswords, resourceKey, stackConfig, throwawayStack } from "./workspace.js";

const NAMESPACE = "mesh-deploy-test";
const STACK = "deploy-test";

/** Published-style app references: kwok runs no containers, so nothing is pulled. */
const appImages = Object.fromEntries(SERVICE_NAMES.map((s, i) => [s, `registry.example.com/mesh/mesh-${s}@sha256:${String(i + 1).repeat(64)}`]));
const passwords = providedPasswords();
// The lane compares ups with each other and with the mocks: no certificate may renew in between.
const certificateLifetimeHours = lifetimeHoursWithoutRenewal(2 * 3_600_000);
const settings = (extra: Record<string, unknown>) => ({ target: "kubernetes", kubeContext: "mesh-test", namespace: NAMESPACE, appImages, certificateLifetimeHours, ...extra });
const declaredFor = (extra: Record<string, unknown>) => declared({ ...settings(extra), ...passwords }, Object.keys(passwords));

/** Static volumes for the data stores' claims, as a cluster's storage provisioner would offer. */
async function offerVolumes(api: KubeApi, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `mesh-deploy-test-pv-${i}`);
  for (const name of names) {
    const res = await api.send("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", hostPath: { path: `/var/empty/${name}` } },
    });
    expect([201, 409], JSON.stringify(res.body)).toContain(res.status);
  }
  return names;
}

/**
 * More simulated nodes beside the control plane's own, as kwok manages them (the
 * fake-node annotation), so the scheduler has somewhere to spread replicas to.
 */
async function addFakeNodes(api: KubeApi, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const res = await api.send("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
        labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
      },
      status: { allocatable: { cpu: "32", memory: "256Gi", pods: "110" }, capacity: { cpu: "32", memory: "256Gi", pods: "110" } },
    });
    expect([201, 409], JSON.stringify(res.body)).toContain(res.status);
  }
  await waitFor("the fake nodes Ready", async () => {
    const nodes = await api.list("/api/v1/nodes");
    return names.every((name) => {
      const node = nodes.find((n) => n.metadata.name === name) as (KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }) | undefined;
      return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
    });
  }, 60_000, 500);
}

describe("the kubernetes target through the real Pulumi engine", () => {
  const kubeconfig = inject("kubeconfig");
  const api = new KubeApi(kubeconfig);
  const work = mkdtempSync(join(tmpdir(), "mesh-deploy-"));
  let stack: Stack;
  let volumes: string[] = [];
  const expected = declaredFor({});

  const extraNodes = ["kwok-node-1", "kwok-node-2"];

  beforeAll(async () => {
    await addFakeNodes(api, extraNodes);
    volumes = await offerVolumes(api, 3);
    // Its own PULUMI_HOME: the only plugin is the kubernetes provider on PATH.
    stack = await throwawayStack(STACK, work, { PULUMI_HOME: join(work, "home"), KUBECONFIG: kubeconfig });
    await stack.setAllConfig(stackConfig(settings({}), passwords));
  });

  afterAll(async () => {
    // Whatever happened above, leave no stack, namespace or volume behind.
    await stack?.destroy({ color: "never" }).catch(() => undefined);
    await stack?.workspace.removeStack(STACK).catch(() => undefined);
    for (const name of volumes) await api.send("DELETE", `/api/v1/persistentvolumes/${name}`);
    for (const name of extraNodes) await api.send("DELETE", `/api/v1/nodes/${name}`);
    rmSync(work, { recursive: true, force: true });
  });

  it("previews exactly the resources the program declares, only Kubernetes ones", async () => {
    const events: EngineEvent[] = [];
    const preview = await stack.preview({ onEvent: (e) => events.push(e), color: "never" });
    const ops = operations(events);
    expect([...ops.keys()].sort()).toEqual(expected.map(resourceKey).sort());
    expect([...new Set(ops.values())]).toEqual(["create"]);
    expect(preview.changeSummary.create).toBe(expected.length + 1); // and the stack itself
    expect(expected.filter((r) => r.type.startsWith("docker:") || r.type.startsWith("random:") || r.type.startsWith("command:"))).toEqual([]);
  });

  it("stands the mesh up: every object accepted by the API server", async () => {
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.resourceChanges?.create).toBe(expected.length + 1);
    expect(up.outputs.gatewayUrl?.value).toBe("http://127.0.0.1:8080");
  });

  it("enforces Pod Security 'restricted' on the namespace: the API server refuses an unconfined pod", async () => {
    const namespace = await api.get(`/api/v1/namespaces/${NAMESPACE}`);
    expect(namespace.metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
    // A pod as most charts write one: no securityContext at all (root allowed, escalation allowed, capabilities kept).
    const refused = await api.send("POST", `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "unconfined" },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toMatch(/violates PodSecurity \\"restricted:latest\\"/);
  });

  it("has every Deployment and StatefulSet available, with the apps' Envoys as native sidecars", async () => {
    const deployments = await api.list(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments`);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(expect.arrayContaining([...SERVICE_NAMES, "edge"]));
    // `up` returns once the pods are available; the controller writes that into each
    // Deployment's status on its next sync, which a busy machine delays for a moment
    // (a CI run read one Deployment's status with nothing available yet).
    const available = (d: KubeObject) => d.status?.availableReplicas === (d.spec as { replicas: number }).replicas;
    await waitFor("every Deployment's status showing its replicas available", async () => (await api.list(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments`)).every(available), 30_000, 250);
    const statefulSets = await api.list(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`);
    expect(statefulSets).toHaveLength(3);
    for (const s of statefulSets) expect(s.status?.availableReplicas, s.metadata.name).toBe(1);
    const pods = await api.list(`/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=app.kubernetes.io/name%3Dcatalog`);
    expect(pods.length).toBe(1);
    const spec = pods[0]?.spec as { initContainers: Array<{ name: string; restartPolicy?: string }>; containers: Array<{ image: string }> };
    expect(spec.initContainers).toEqual([expect.objectContaining({ name: "envoy", restartPolicy: "Always" })]);
    expect(spec.containers[0]?.image).toBe(appImages.catalog);
    expect((pods[0]?.status as { phase: string }).phase).toBe("Running");
  });

  it("keeps the provided passwords encrypted in the stack's state", async () => {
    const state = JSON.stringify(await stack.exportStack());
    for (const value of Object.values(passwords)) expect(state).not.toContain(value);
    // What the cluster got is the provided value itself: nothing was generated.
    const secrets = (await api.list(`/api/v1/namespaces/${NAMESPACE}/secrets`)) as Array<KubeObject & { data?: Record<string, string> }>;
    const redis = secrets.filter((s) => s.data?.[REDIS_PASSWORD_ENV] !== undefined);
    expect(redis).toHaveLength(1);
    expect(Buffer.from(redis[0]?.data?.[REDIS_PASSWORD_ENV] ?? "", "base64").toString()).toBe(passwords.redisPassword);
  });

  it("changes nothing on a second up", async () => {
    const up = await stack.up({ color: "never" });
    expect(up.summary.resourceChanges).toEqual({ same: expected.length + 1 });
  });

  it("on a config change (replicas, log level) updates only what the change touches, and spreads catalog's replicas over nodes", async () => {
    const change = { replicas: { catalog: 2 }, envoyLogLevel: "debug" };
    const after = declaredFor(change);
    const touched = changedBetween(expected, after);
    expect(touched.length).toBeGreaterThan(0);
    // A second catalog replica brings catalog's disruption budget, and nothing else new.
    const added = after.filter((r) => !expected.some((e) => resourceKey(e) === resourceKey(r))).map(resourceKey);
    expect(added).toEqual(["kubernetes:policy/v1:PodDisruptionBudget::mesh-catalog-disruption-budget"]);
    await stack.setAllConfig(stackConfig(settings(change), passwords));
    const events: EngineEvent[] = [];
    const up = await stack.up({ onEvent: (e) => events.push(e), color: "never" });
    expect(up.summary.result).toBe("succeeded");
    const changed = [...operations(events)].filter(([, op]) => op !== "same" && op !== "create");
    expect(changed.map(([name]) => name).sort()).toEqual(touched);
    expect([...operations(events)].filter(([, op]) => op === "create").map(([name]) => name)).toEqual(added);
    // The provider replaces a ConfigMap or Secret whose data changes (a new autoname), which changes the
    // pod template that refers to it by name: the pods roll onto the new environment.
    for (const [name, op] of changed) expect(op, name).toBe(name.startsWith("kubernetes:core/v1:Secret::") ? "replace" : "update");
    await waitFor("catalog's two replicas available", async () => (await api.get(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments/catalog`)).status?.availableReplicas === 2, 30_000, 250);
    // Its two replicas run on two of the three nodes (the spread over nodes), under a budget of one down at a time.
    const replicaSets = await api.list(`/apis/apps/v1/namespaces/${NAMESPACE}/replicasets?labelSelector=app.kubernetes.io/name%3Dcatalog`);
    const current = replicaSets.find((rs) => (rs.spec as { replicas: number }).replicas === 2);
    const hash = current?.metadata.labels?.["pod-template-hash"];
    const pods = await api.list(`/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=pod-template-hash%3D${hash}`);
    expect(pods).toHaveLength(2);
    expect(new Set(pods.map((p) => (p.spec as { nodeName: string }).nodeName)).size).toBe(2);
    const budget = await api.list(`/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets`);
    expect(budget.map((b) => [b.metadata.labels?.["app.kubernetes.io/name"], (b.spec as { maxUnavailable: number }).maxUnavailable])).toEqual([["catalog", 1]]);
  });

  it("runs a canary, then moves its weight by patching only the Envoys' dynamic ConfigMaps in place, then removes it", async () => {
    const base = { replicas: { catalog: 2 }, envoyLogLevel: "debug" };
    const upWith = async (extra: Record<string, unknown>) => {
      await stack.setAllConfig(stackConfig(settings({ ...base, ...extra }), passwords));
      // Setting config never unsets a key: a stack without a canary has none.
      if (extra.canaries === undefined) await stack.removeConfig("mesh:canaries");
      const events: EngineEvent[] = [];
      const up = await stack.up({ onEvent: (e) => events.push(e), color: "never" });
      expect(up.summary.result).toBe("succeeded");
      return [...operations(events)].filter(([, op]) => op !== "same");
    };
    const created = await upWith({ canaries: { catalog: { weightPercent: 10 } } });
    expect(created.filter(([, op]) => op === "create").map(([name]) => name)).toContain("kubernetes:apps/v1:Deployment::mesh-catalog-canary-deployment");
    await waitFor("the canary available", async () => (await api.get(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments/catalog-canary`)).status?.availableReplicas === 1, 60_000, 250);
    const pods = async () => (await api.list(`/api/v1/namespaces/${NAMESPACE}/pods`)).map((p) => p.metadata.name).sort();
    const before = await pods();
    const moved = await upWith({ canaries: { catalog: { weightPercent: 50 } } });
    // The edge's and orders' (catalog's callers) routes: updated in place, nothing replaced, no pod template touched.
    expect(moved.sort()).toEqual([
      ["kubernetes:core/v1:ConfigMap::mesh-edge-envoy-dynamic", "update"],
      ["kubernetes:core/v1:ConfigMap::mesh-orders-envoy-dynamic", "update"],
    ]);
    const edgeRoutes = (await api.get(`/api/v1/namespaces/${NAMESPACE}/configmaps/edge-envoy-dynamic`)) as KubeObject & { data: Record<string, string> };
    expect(edgeRoutes.data["routes-edge_http.yaml"]).toMatch(/name: catalog-canary\s+weight: 50/);
    expect(await pods()).toEqual(before);
    const removed = await upWith({});
    expect(removed.filter(([, op]) => op === "delete").map(([name]) => name)).toContain("kubernetes:apps/v1:Deployment::mesh-catalog-canary-deployment");
  });

  it("destroys everything: the namespace and all in it gone, then the stack removed", async () => {
    const destroy = await stack.destroy({ color: "never" });
    expect(destroy.summary.result).toBe("succeeded");
    // What the first up created, the disruption budget the second catalog replica brought, and the stack.
    expect(destroy.summary.resourceChanges?.delete).toBe(expected.length + 2);
    expect((await api.send("GET", `/api/v1/namespaces/${NAMESPACE}`)).status).toBe(404);
    const leftovers = (await api.list("/api/v1/namespaces")).filter((n: KubeObject) => n.metadata.labels?.["app.kubernetes.io/part-of"] === "envoy-mesh");
    expect(leftovers).toEqual([]);
    await stack.workspace.removeStack(STACK);
    expect((await stack.workspace.listStacks()).map((s) => s.name)).not.toContain(STACK);
  });
});
