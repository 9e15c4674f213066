// The Envoy container of a pod (the edge, or a service's native sidecar) and
// the autonamed ConfigMap that carries its generated config: a changed config
// gets a new ConfigMap name, which changes the pod template and rolls the pods.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CONTAINER_DYNAMIC_DIR, CONTAINER_IDENTITY_DIR, containerBinding } from "../addressing.js";
import { bashHttpRequest } from "../bash-http.js";
import type { EnvoyLogLevel } from "../config.js";
import { PORTS } from "../model.js";
import type { PinnedImage } from "../versions.js";
import { CALLER_DISCOVERY_SECONDS, CALLER_HEALTH_NOTICE_SECONDS, ENDPOINT_DRAIN_SECONDS } from "../endpoint-discovery.js";
import { UPSTREAMS_READY_PATH } from "../../envoy-templates/index.js";
import { ENVOY_DRAIN_SECONDS, WORKLOAD_SIZES, envoyConcurrency } from "../workload-sizes.js";
import { type Container, componentLabels, resources, restrictedContainer } from "./workload.js";

export const ENVOY_CONFIG_DIR = "/etc/envoy";
export const ENVOY_CONFIG_VOLUME = "envoy-config";
export const ENVOY_SCRATCH_VOLUME = "envoy-tmp";
export const ENVOY_IDENTITY_VOLUME = "envoy-identity";
export const ENVOY_DYNAMIC_VOLUME = "envoy-dynamic";

/**
 * A workload's identity directory as a Secret of a fixed name: a renewed certificate
 * updates it in place, the kubelet swaps the files in every pod's volume, and the
 * running Envoys reload them (SDS watches the directory). A new name would roll the pods.
 */
export function identitySecret(name: string, workload: string, namespace: pulumi.Input<string>, files: pulumi.Output<Record<string, string>>, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(name, { metadata: { name: `${workload}-identity`, namespace, labels: componentLabels(workload) }, stringData: files }, opts);
}

/** The identity Secret as the Envoy container's volume: readable by the pod's fsGroup (Envoy's group) only. */
export function identityVolume(secret: k8s.core.v1.Secret): k8s.types.input.core.v1.Volume {
  return { name: ENVOY_IDENTITY_VOLUME, secret: { secretName: secret.metadata.name, defaultMode: 0o440 } };
}

/**
 * A proxy's routes and service clusters (envoy-templates/dynamic.ts) as a ConfigMap of a
 * fixed name, updated in place through the in-place provider: the kubelet swaps the files
 * in every pod's volume (within its sync period, about a minute) and the running Envoys
 * apply them. A weight, fault or rate-limit change rolls no pod.
 */
export function dynamicConfigMap(name: string, component: string, namespace: pulumi.Input<string>, files: Record<string, string>, opts: pulumi.CustomResourceOptions): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(name, { metadata: { name: `${component}-envoy-dynamic`, namespace, labels: componentLabels(component) }, data: files }, opts);
}

export function dynamicVolume(configMap: k8s.core.v1.ConfigMap): k8s.types.input.core.v1.Volume {
  return { name: ENVOY_DYNAMIC_VOLUME, configMap: { name: configMap.metadata.name } };
}

export function envoyConfigMap(name: string, component: string, namespace: pulumi.Input<string>, config: string, opts: pulumi.CustomResourceOptions): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(name, { metadata: { namespace, labels: componentLabels(component) }, data: { "envoy.yaml": config } }, opts);
}

/**
 * An Envoy's preStop: after `waitSeconds`, drain its listeners (each HTTP/1.1
 * response then carries Connection: close and HTTP/2 clients get a GOAWAY, so
 * clients reconnect to a replica that stays) and wait out the drain. The admin
 * listens on the pod loopback only, which the kubelet's httpGet cannot reach;
 * the image's bash can, through /dev/tcp.
 */
function envoyDrainCommand(waitSeconds: number, inboundOnly: boolean): string[] {
  const path = `/drain_listeners?graceful${inboundOnly ? "&inboundonly" : ""}`;
  const drain = `${bashHttpRequest("POST", path, containerBinding.admin)} && cat <&3 >/dev/null; sleep ${ENVOY_DRAIN_SECONDS}`;
  return ["/bin/bash", "-c", waitSeconds > 0 ? `sleep ${waitSeconds}; ${drain}` : drain];
}

/** The edge drains at once: its callers, kube-proxy's NodePort rules, drop a terminating pod within a second. */
export function edgeDrainCommand(): string[] {
  return envoyDrainCommand(0, false);
}

/**
 * A native sidecar's preStop runs when the pod starts terminating, beside the
 * app's (measured on the real node: a sidecar that drained at once refused its
 * callers' connections 5 s later, while they still sent it requests). So it keeps
 * every listener while the callers move away (the app's preStop), then drains
 * the inbound ones only: the egress listeners stay until the sidecar stops, after
 * its app, whose last requests still need them.
 */
export function sidecarDrainCommand(): string[] {
  return envoyDrainCommand(ENDPOINT_DRAIN_SECONDS, true);
}

/**
 * The app container's preStop: keep serving while the callers re-resolve the
 * service and find the replicas that stay, then tell the sidecar to fail their
 * health checks (Envoy's /healthcheck/fail: the health_check filter answers 503,
 * pass-through or not) and keep serving until they have moved away. Only then
 * does the app get SIGTERM (infra/endpoint-discovery.ts says why in this order).
 * Run by the app image's own node (the pod shares one loopback).
 */
export function sidecarLeaveCommand(): string[] {
  const { address, port } = containerBinding.admin;
  const failHealthChecks = `fetch("http://${address}:${port}/healthcheck/fail",{method:"POST",signal:AbortSignal.timeout(2000)}).catch(()=>{})`;
  const script = `setTimeout(()=>${failHealthChecks}.finally(()=>setTimeout(()=>{},${CALLER_HEALTH_NOTICE_SECONDS * 1000})),${CALLER_DISCOVERY_SECONDS * 1000})`;
  return ["node", "-e", script];
}

/** An Envoy container; `preStop` is its drain (edgeDrainCommand or sidecarDrainCommand). */
export function envoyContainer(image: PinnedImage, logLevel: EnvoyLogLevel, ports: Container["ports"], preStop: string[]): Container {
  return {
    name: "envoy",
    image: image.ref,
    command: ["/usr/local/bin/envoy"],
    args: [
      "--config-path", `${ENVOY_CONFIG_DIR}/envoy.yaml`,
      "--log-level", logLevel,
      "--concurrency", String(envoyConcurrency(WORKLOAD_SIZES.envoy)),
      // Every connection is told to close at once when the drain starts (preStop below).
      "--drain-time-s", String(ENVOY_DRAIN_SECONDS),
      "--drain-strategy", "immediate",
    ],
    ports,
    // The admin (and its /ready) stays on the pod loopback, out of the kubelet's
    // reach; the probes use the listeners the mesh uses.
    // Started once every service it routes to has a healthy host (UPSTREAMS_READY_PATH says why).
    startupProbe: { httpGet: { path: UPSTREAMS_READY_PATH, port: PORTS.envoyMetrics }, periodSeconds: 1, failureThreshold: 60 },
    readinessProbe: { httpGet: { path: "/stats/prometheus", port: PORTS.envoyMetrics }, periodSeconds: 10, timeoutSeconds: 5 },
    livenessProbe: { tcpSocket: { port: PORTS.envoyMetrics }, periodSeconds: 10, failureThreshold: 6 },
    lifecycle: { preStop: { exec: { command: preStop } } },
    resources: resources(WORKLOAD_SIZES.envoy),
    securityContext: restrictedContainer(image),
    volumeMounts: [
      { name: ENVOY_CONFIG_VOLUME, mountPath: ENVOY_CONFIG_DIR, readOnly: true },
      { name: ENVOY_SCRATCH_VOLUME, mountPath: "/tmp" },
      { name: ENVOY_IDENTITY_VOLUME, mountPath: CONTAINER_IDENTITY_DIR, readOnly: true },
      { name: ENVOY_DYNAMIC_VOLUME, mountPath: CONTAINER_DYNAMIC_DIR, readOnly: true },
    ],
  };
}
