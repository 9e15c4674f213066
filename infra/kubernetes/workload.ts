// Building blocks every Kubernetes workload shares: labels, the Pod Security
// "restricted" security contexts, resources, and an autonamed ConfigMap's volume.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { EnvEntry } from "../environment.js";
import type { PinnedImage } from "../versions.js";
import type { WorkloadSize } from "../workload-sizes.js";

export type Container = k8s.types.input.core.v1.Container;
export type Probe = k8s.types.input.core.v1.Probe;

/** The label NetworkPolicies and Services select on. */
export const COMPONENT_LABEL = "app.kubernetes.io/name";

export function componentLabels(component: string): Record<string, string> {
  return { [COMPONENT_LABEL]: component, "app.kubernetes.io/part-of": "envoy-mesh" };
}

export function selectorFor(component: string): Record<string, string> {
  return { [COMPONENT_LABEL]: component };
}

/** Pod Security Standard "restricted", for one container. */
export function restrictedContainer(image: PinnedImage, readOnlyRoot = true): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: image.uid,
    runAsGroup: image.gid,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: readOnlyRoot,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function restrictedPod(fsGroup?: number): k8s.types.input.core.v1.PodSecurityContext {
  return { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, ...(fsGroup === undefined ? {} : { fsGroup }) };
}

/**
 * Requests a tenth of the CPU limit and the full memory (no overcommit). The
 * limits of the whole mesh add up to about 9.5 cores; a quarter of that asked
 * for 2.4, more than a 2-core node (a laptop's kind cluster) offers, and a real
 * node left pods Pending for "Insufficient cpu". A tenth asks for about one.
 */
export const CPU_REQUEST_SHARE = 0.1;

export function resources(size: WorkloadSize): k8s.types.input.core.v1.ResourceRequirements {
  const memory = `${size.memoryMiB}Mi`;
  return {
    requests: { cpu: `${Math.round(size.cpu * CPU_REQUEST_SHARE * 1000)}m`, memory },
    limits: { cpu: `${Math.round(size.cpu * 1000)}m`, memory },
  };
}

/** A small writable scratch directory for a read-only root filesystem. */
export function scratchVolume(name: string): k8s.types.input.core.v1.Volume {
  return { name, emptyDir: { medium: "Memory", sizeLimit: "64Mi" } };
}

export function execProbe(command: string[], periodSeconds = 10, timeoutSeconds = 5): Probe {
  return { exec: { command }, periodSeconds, timeoutSeconds, failureThreshold: 6 };
}

/** ConfigMap keys cannot hold "/": flatten paths into keys and map them back with items. */
export function configMapFiles(files: ReadonlyArray<{ path: string; content: string }>): {
  data: Record<string, string>;
  items: Array<{ key: string; path: string }>;
} {
  const key = (path: string) => path.replace(/\//g, "__");
  return {
    data: Object.fromEntries(files.map((f) => [key(f.path), f.content])),
    items: files.map((f) => ({ key: key(f.path), path: f.path })),
  };
}

/** An environment for a container: secrets read by name from the Secret that holds them. */
export function podEnv(env: readonly EnvEntry[], secretName: pulumi.Input<string>): Container["env"] {
  return env.map((e) => ("secret" in e ? { name: e.name, valueFrom: { secretKeyRef: { name: secretName, key: e.name } } } : { name: e.name, value: e.value }));
}
