// The edge Envoy: a Deployment, a headless Service by which Prometheus finds it,
// and a NodePort Service that kind maps to the host's gateway port.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RenderedProxy } from "../../envoy-templates/index.js";
import type { EnvoyLogLevel } from "../config.js";
import { EDGE_PROXY, PORTS } from "../model.js";
import type { PinnedImage } from "../versions.js";
import { ENVOY_DRAIN_SECONDS } from "../workload-sizes.js";
import {
  ENVOY_CONFIG_VOLUME,
  ENVOY_SCRATCH_VOLUME,
  dynamicConfigMap,
  dynamicVolume,
  edgeDrainCommand,
  envoyConfigMap,
  envoyContainer,
  identitySecret,
  identityVolume,
} from "./envoy-container.js";
import { NODE_PORTS } from "./node-ports.js";
import { componentLabels, restrictedPod, scratchVolume, selectorFor } from "./workload.js";

export interface EdgeProxyArgs {
  /** The edge's files from the plan. */
  readonly config: RenderedProxy;
  readonly namespace: pulumi.Input<string>;
  readonly logLevel: EnvoyLogLevel;
  readonly envoyImage: PinnedImage;
  /** The edge's identity directory's files (infra/plan/mesh-plan.ts): its client certificate toward the sidecars. */
  readonly identity: pulumi.Output<Record<string, string>>;
  /** The provider that patches identity Secrets and dynamic ConfigMaps in place (KubernetesMesh). */
  readonly inPlaceProvider: k8s.Provider;
}

export class EdgeProxy extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;

  constructor(name: string, args: EdgeProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:EdgeProxy", name, {}, opts);
    const { namespace } = args;
    const labels = componentLabels(EDGE_PROXY);
    const config = envoyConfigMap(`${name}-envoy`, EDGE_PROXY, namespace, args.config.bootstrap, { parent: this });
    const inPlace = { parent: this, provider: args.inPlaceProvider };
    const identity = identitySecret(`${name}-identity`, EDGE_PROXY, namespace, args.identity, inPlace);
    const dynamic = dynamicConfigMap(`${name}-envoy-dynamic`, EDGE_PROXY, namespace, args.config.dynamicFiles, inPlace);

    new k8s.core.v1.Service(
      `${name}-service`,
      {
        // kubernetesAddressing names the edge <edge>.<namespace>.svc for Prometheus.
        metadata: { name: EDGE_PROXY, namespace, labels },
        spec: { clusterIP: "None", selector: selectorFor(EDGE_PROXY), ports: [{ name: "http-envoy-metrics", port: PORTS.envoyMetrics, targetPort: PORTS.envoyMetrics }] },
      },
      { parent: this },
    );
    new k8s.core.v1.Service(
      `${name}-public`,
      {
        metadata: { name: `${EDGE_PROXY}-public`, namespace, labels },
        spec: {
          type: "NodePort",
          // Keeps the client's address for Envoy's use_remote_address and access logs.
          externalTrafficPolicy: "Local",
          selector: selectorFor(EDGE_PROXY),
          ports: [
            { name: "http", port: PORTS.edgeHttp, targetPort: PORTS.edgeHttp, nodePort: NODE_PORTS.gateway },
            { name: "https", port: PORTS.edgeHttps, targetPort: PORTS.edgeHttps, nodePort: NODE_PORTS.gatewayHttps },
          ],
        },
      },
      { parent: this },
    );

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        // A fixed name operators can port-forward to: `kubectl port-forward deploy/edge <port>:9901`.
        metadata: { name: EDGE_PROXY, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: selectorFor(EDGE_PROXY) },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              // Envoy's group owns the identity volume's files.
              securityContext: restrictedPod(args.envoyImage.gid),
              // Time for the Envoy's preStop drain, and some to spare.
              terminationGracePeriodSeconds: ENVOY_DRAIN_SECONDS + 5,
              containers: [
                envoyContainer(args.envoyImage, args.logLevel, [
                  { name: "http", containerPort: PORTS.edgeHttp },
                  { name: "https", containerPort: PORTS.edgeHttps },
                  { name: "http-metrics", containerPort: PORTS.envoyMetrics },
                ], edgeDrainCommand()),
              ],
              volumes: [{ name: ENVOY_CONFIG_VOLUME, configMap: { name: config.metadata.name } }, scratchVolume(ENVOY_SCRATCH_VOLUME), identityVolume(identity), dynamicVolume(dynamic)],
            },
          },
        },
      },
      // Children do not inherit the component's dependsOn: pass it on.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({});
  }
}
