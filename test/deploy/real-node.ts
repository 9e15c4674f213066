// The real-node lane's cluster and images: a one-node Kubernetes cluster
// (scripts/control-plane.sh with MESH_NODE=real: kubelet, containerd, CNI
// bridge, kube-proxy, CoreDNS, kube-router enforcing NetworkPolicies) and the
// mesh's images built here with no registry (scripts/images.sh).
import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IMAGES } from "../../infra/versions.js";
import type { KubeApi, KubeObject } from "./kube-api.js";
import { requireRealNodeTools } from "./tools.js";

const root = join(import.meta.dirname, "../..");
const controlPlane = join(root, "scripts/control-plane.sh");
const imagesScript = join(root, "scripts/images.sh");

export interface ImageManifest {
  readonly images: Record<string, string>;
  readonly appImages: Record<string, string>;
  /** A shell image for pods that try connections (bash, coreutils). */
  readonly probe: string;
}

/** Builds (or finds cached) every image the stack runs; their references. */
export function buildImages(): ImageManifest {
  requireRealNodeTools();
  execFileSync("bash", [imagesScript, "build"], { stdio: ["ignore", "inherit", "inherit"], timeout: 1_800_000 });
  const manifest = JSON.parse(execFileSync("bash", [imagesScript, "manifest"], { encoding: "utf8" })) as ImageManifest;
  // Grafana is the one image no registry here serves and nothing here builds: the lane runs without it.
  const images = Object.fromEntries(Object.entries(manifest.images).filter(([key]) => key !== "grafana"));
  return { images, appImages: manifest.appImages, probe: manifest.probe };
}

export interface RealCluster {
  readonly kubeconfig: string;
  readonly stateDir: string;
  stop(): void;
}

/** Starts the one-node cluster in `stateDir` and returns how to reach it. */
export function startRealCluster(stateDir: string): RealCluster {
  requireRealNodeTools();
  const env = { ...process.env, MESH_CONTROL_PLANE_DIR: stateDir, MESH_NODE: "real" };
  const stop = () => execFileSync("bash", [controlPlane, "stop"], { env, stdio: ["ignore", "inherit", "inherit"], timeout: 180_000 });
  try {
    const kubeconfig = execFileSync("bash", [controlPlane, "start"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 }).trim();
    return { kubeconfig, stateDir, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** The node's address on the cluster's bridge (its InternalIP): NodePorts answer there. */
export async function nodeAddress(api: KubeApi): Promise<string> {
  const [node] = (await api.list("/api/v1/nodes")) as Array<KubeObject & { status: { addresses: Array<{ type: string; address: string }> } }>;
  const address = node?.status.addresses.find((a) => a.type === "InternalIP")?.address;
  if (!address) throw new Error("the node reports no InternalIP");
  return address;
}

/**
 * Static volumes for the data stores' claims, as a storage provisioner would
 * offer them: host folders owned by the stores' user (a hostPath volume keeps the
 * folder's owner; the pod's fsGroup does not apply to it).
 */
export async function offerHostVolumes(api: KubeApi, dir: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `mesh-node-test-pv-${i}`);
  for (const name of names) {
    const path = join(dir, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    chownSync(path, IMAGES.postgres.uid, IMAGES.postgres.gid);
    const res = await api.send("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", hostPath: { path, type: "Directory" } },
    });
    if (res.status !== 201) throw new Error(`creating volume ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return names;
}

export interface PodState {
  readonly name: string;
  readonly component: string;
  readonly phase: string;
  readonly ready: boolean;
  readonly ip: string;
  readonly uid: string;
  readonly containers: Array<{ name: string; restarts: number; ready: boolean; lastTerminated?: string; containerId: string }>;
}

interface PodStatusJson {
  phase: string;
  podIP?: string;
  conditions?: Array<{ type: string; status: string }>;
  containerStatuses?: ContainerStatusJson[];
  initContainerStatuses?: ContainerStatusJson[];
}
interface ContainerStatusJson {
  name: string;
  restartCount: number;
  ready: boolean;
  containerID?: string;
  lastState?: { terminated?: { reason?: string } };
}

export async function podStates(api: KubeApi, namespace: string): Promise<PodState[]> {
  const pods = (await api.list(`/api/v1/namespaces/${namespace}/pods`)) as Array<KubeObject & { metadata: { uid: string; deletionTimestamp?: string } }>;
  return pods
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => {
      const status = p.status as unknown as PodStatusJson;
      const containers = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].map((c) => ({
        name: c.name,
        restarts: c.restartCount,
        ready: c.ready,
        lastTerminated: c.lastState?.terminated?.reason,
        containerId: (c.containerID ?? "").replace(/^containerd:\/\//, ""),
      }));
      return {
        name: p.metadata.name,
        component: p.metadata.labels?.["app.kubernetes.io/name"] ?? "",
        phase: status.phase,
        ready: status.conditions?.find((c) => c.type === "Ready")?.status === "True",
        ip: status.podIP ?? "",
        uid: p.metadata.uid,
        containers,
      };
    });
}

/**
 * Peak memory of each container since it started (cgroup v1, as the kubelet's
 * cgroupfs driver lays it out under the node's cgroup root:
 * <root>/kubepods/<qos>/pod<uid>/<container id>).
 */
export function peakMemoryMiB(pod: PodState, cgroupRoot = "mesh-node"): Record<string, number> {
  const peaks: Record<string, number> = {};
  for (const c of pod.containers) {
    for (const qos of ["", "burstable/", "besteffort/"]) {
      try {
        const bytes = Number(readFileSync(`/sys/fs/cgroup/memory/${cgroupRoot}/kubepods/${qos}pod${pod.uid}/${c.containerId}/memory.max_usage_in_bytes`, "utf8"));
        peaks[c.name] = Math.round(bytes / 1048576);
        break;
      } catch {
        // Not in this QoS class.
      }
    }
  }
  return peaks;
}
