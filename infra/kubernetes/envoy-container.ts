// The Envoy container of a pod (the edge, or a service's native sidecar) and
// the autonamed ConfigMap that carries its generated config: a changed config
// gets a new ConfigMap name, which changes the pod template and rolls the pods.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { containerBinding } from "../addressing.js";
import type { EnvoyLogLevel } from "../config.js";
import { PORTS } from "../model.js";
import type { PinnedImage } from "../versions.js";
import { ENDPOINT_DRAIN_SECONDS, ENVOY_DRAIN_SECONDS, WORKLOAD_SIZES, envoyConcurrency } from "../workload-sizes.js";
import { type Container, componentLabels, resources, restrictedContainer } from "./workload.js";

export const ENVOY_CONFIG_DIR = "/etc/envoy";
export const ENVOY_CONFIG_VOLUME = "envoy-config";
export const ENVOY_SCRATCH_VOLUME = "envoy-tmp";

export function envoyConfigMap(name: string, component: string, namespace: pulumi.Input<string>, config: string, opts: pulumi.CustomResourceOptions): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(name, { metadata: { namespace, labels: componentLabels(component) }, data: { "envoy.yaml": config } }, opts);
}

/**
 * Before the kubelet stops Envoy: drain every listener (each HTTP/1.1 response
 * then carries Connection: close and HTTP/2 clients get a GOAWAY, so clients
 * reconnect to a replica that stays) and wait out the drain. The admin listens
 * on the pod loopback only, which the kubelet's httpGet cannot reach; the
 * image's bash can, through /dev/tcp.
 */
export function envoyDrainCommand(): string[] {
  const { address, port } = containerBinding.admin;
  const request = `POST /drain_listeners?graceful HTTP/1.1\\r\\nHost: ${address}\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n`;
  return ["/bin/bash", "-c", `exec 3<>/dev/tcp/${address}/${port} && printf '${request}' >&3 && cat <&3 >/dev/null; sleep ${ENVOY_DRAIN_SECONDS}`];
}

/**
 * The app container's preStop: tell its sidecar to fail the callers' health
 * checks (Envoy's /healthcheck/fail: the health_check filter then answers 503,
 * pass-through or not), then keep serving while the callers' Envoys mark this
 * replica unhealthy and move to the others. Only then does the app get SIGTERM.
 * Run by the app image's own node (the pod shares one loopback).
 */
export function sidecarHealthFailCommand(): string[] {
  const { address, port } = containerBinding.admin;
  const script = `fetch("http://${address}:${port}/healthcheck/fail",{method:"POST",signal:AbortSignal.timeout(2000)}).catch(()=>{}).finally(()=>setTimeout(()=>{},${ENDPOINT_DRAIN_SECONDS * 1000}))`;
  return ["node", "-e", script];
}

export function envoyContainer(image: PinnedImage, logLevel: EnvoyLogLevel, ports: Container["ports"]): Container {
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
    startupProbe: { tcpSocket: { port: PORTS.envoyMetrics }, periodSeconds: 2, failureThreshold: 30 },
    readinessProbe: { httpGet: { path: "/stats/prometheus", port: PORTS.envoyMetrics }, periodSeconds: 10, timeoutSeconds: 5 },
    livenessProbe: { tcpSocket: { port: PORTS.envoyMetrics }, periodSeconds: 10, failureThreshold: 6 },
    lifecycle: { preStop: { exec: { command: envoyDrainCommand() } } },
    resources: resources(WORKLOAD_SIZES.envoy),
    securityContext: restrictedContainer(image),
    volumeMounts: [
      { name: ENVOY_CONFIG_VOLUME, mountPath: ENVOY_CONFIG_DIR, readOnly: true },
      { name: ENVOY_SCRATCH_VOLUME, mountPath: "/tmp" },
    ],
  };
}
