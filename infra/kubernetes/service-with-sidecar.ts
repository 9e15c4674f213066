// One mesh service on Kubernetes: a Deployment whose pods run the app and Envoy
// as a native sidecar (an init container that keeps running, started before and
// stopped after the app), the app's secret variables in a Secret, and a headless
// Service whose DNS name lists every ready pod for Envoy's STRICT_DNS clusters.
// Replicas spread over nodes, and a replicated service keeps all but one of its
// replicas through a voluntary disruption (a node drain).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RenderedProxy } from "../../envoy-templates/index.js";
import type { EnvoyLogLevel } from "../config.js";
import type { EnvEntry } from "../environment.js";
import type { MeshSecrets } from "../mesh-secrets.js";
import { PORTS, type ServiceSpec } from "../model.js";
import { type Release, releaseName } from "../traffic.js";
import type { PinnedImage } from "../versions.js";
import { POD_STOP_GRACE_SECONDS, WORKLOAD_SIZES } from "../workload-sizes.js";
import {
  ENVOY_CONFIG_VOLUME,
  ENVOY_SCRATCH_VOLUME,
  dynamicConfigMap,
  dynamicVolume,
  envoyConfigMap,
  envoyContainer,
  identitySecret,
  identityVolume,
  sidecarDrainCommand,
  sidecarLeaveCommand,
} from "./envoy-container.js";
import { componentLabels, podEnv, resources, restrictedContainer, restrictedPod, scratchVolume, selectorFor } from "./workload.js";

/** Pod-template annotation carrying the app image's ID: a rebuilt image rolls the pods. */
export const IMAGE_ID_ANNOTATION = "envoy-mesh/app-image-id";

export interface ServiceWithSidecarArgs {
  readonly service: ServiceSpec;
  /** Which release of the service these workloads run (infra/traffic.ts): a canary's are named `<service>-canary`. */
  readonly release: Release;
  readonly replicas: number;
  /** The sidecar's files from the plan (replica 0 of its release): every pod of the Deployment reads this one config. */
  readonly config: RenderedProxy;
  readonly namespace: pulumi.Input<string>;
  /** What the app container runs: a given reference, a pushed digest or a local tag loaded into kind. */
  readonly appImageRef: pulumi.Input<string>;
  /** Changes whenever the image does, so the pods roll even when the reference stays. */
  readonly appImageId: pulumi.Input<string>;
  readonly envoyImage: PinnedImage;
  readonly nodeImage: PinnedImage;
  /** The app's environment, its secrets by reference: placed into a Secret of its own. */
  readonly environment: readonly EnvEntry[];
  readonly secrets: MeshSecrets;
  /** The service's identity directory's files (infra/plan/mesh-plan.ts). */
  readonly identity: pulumi.Output<Record<string, string>>;
  /** The provider that patches identity Secrets and dynamic ConfigMaps in place (KubernetesMesh). */
  readonly inPlaceProvider: k8s.Provider;
  readonly logLevel: EnvoyLogLevel;
}

export class ServiceWithSidecar extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  /** Only for a service of more than one replica: a budget of one would block every node drain. */
  readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;

  constructor(name: string, args: ServiceWithSidecarArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:ServiceWithSidecar", name, {}, opts);
    const { service, namespace, release } = args;
    // The component: the service's name for the stable release, `<service>-canary` for a canary.
    const component = releaseName(service.name, release);
    const labels = componentLabels(component);
    const config = envoyConfigMap(`${name}-envoy`, component, namespace, args.config.bootstrap, { parent: this });
    const inPlace = { parent: this, provider: args.inPlaceProvider };
    const dynamic = dynamicConfigMap(`${name}-envoy-dynamic`, component, namespace, args.config.dynamicFiles, inPlace);
    // The app's secret variables (its connection URLs); the pod's env reads them by name.
    const environment = new k8s.core.v1.Secret(`${name}-env`, { metadata: { namespace, labels }, stringData: args.secrets.values(args.environment) }, { parent: this });
    const identity = identitySecret(`${name}-identity`, component, namespace, args.identity, inPlace);

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        // Named as the release: kubernetesAddressing resolves <service>[-canary].<namespace>.svc.
        metadata: { name: component, namespace, labels },
        spec: {
          clusterIP: "None",
          selector: selectorFor(component),
          ports: [
            { name: "http-mesh", port: PORTS.sidecarIngress, targetPort: PORTS.sidecarIngress },
            { name: "http-envoy-metrics", port: PORTS.envoyMetrics, targetPort: PORTS.envoyMetrics },
          ],
        },
      },
      { parent: this },
    );

    // The app listens on the pod loopback only: the kubelet probes it through the
    // sidecar's metrics listener (cheap httpGet, no exec; the ingress wants a mesh certificate).
    const throughSidecar = (path: string) => ({ httpGet: { path, port: PORTS.envoyMetrics }, periodSeconds: 10, timeoutSeconds: 5 });
    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        // A fixed name operators can port-forward to: `kubectl port-forward deploy/<service> <port>:9901`.
        metadata: { name: component, namespace, labels },
        spec: {
          replicas: args.replicas,
          selector: { matchLabels: selectorFor(component) },
          template: {
            metadata: { labels, annotations: { [IMAGE_ID_ANNOTATION]: args.appImageId } },
            spec: {
              automountServiceAccountToken: false,
              // Envoy's group owns the identity volume's files.
              securityContext: restrictedPod(args.envoyImage.gid),
              terminationGracePeriodSeconds: POD_STOP_GRACE_SECONDS,
              // One replica per node where the nodes allow it, counted within one rollout's revision.
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: "kubernetes.io/hostname",
                  whenUnsatisfiable: "ScheduleAnyway",
                  labelSelector: { matchLabels: selectorFor(component) },
                  matchLabelKeys: ["pod-template-hash"],
                },
              ],
              initContainers: [
                {
                  ...envoyContainer(args.envoyImage, args.logLevel, [
                    { name: "http-mesh", containerPort: PORTS.sidecarIngress },
                    { name: "http-metrics", containerPort: PORTS.envoyMetrics },
                  ], sidecarDrainCommand()),
                  restartPolicy: "Always",
                },
              ],
              containers: [
                {
                  name: "app",
                  image: args.appImageRef,
                  // A local tag loaded into kind's nodes must not be pulled; a digest never changes.
                  imagePullPolicy: "IfNotPresent",
                  env: podEnv(args.environment, environment.metadata.name),
                  readinessProbe: throughSidecar("/readyz"),
                  // Tolerates a sidecar restart before restarting the app.
                  livenessProbe: { ...throughSidecar("/healthz"), failureThreshold: 6, initialDelaySeconds: 10 },
                  // The app keeps serving while its callers find the other replicas and then
                  // move away; then it gets SIGTERM and drains. Its sidecar stops only after it
                  // (a native sidecar), draining its inbound listeners in its own preStop.
                  lifecycle: { preStop: { exec: { command: sidecarLeaveCommand() } } },
                  resources: resources(WORKLOAD_SIZES.app),
                  securityContext: restrictedContainer(args.nodeImage),
                  volumeMounts: [{ name: "app-tmp", mountPath: "/tmp" }],
                },
              ],
              volumes: [
                { name: ENVOY_CONFIG_VOLUME, configMap: { name: config.metadata.name } },
                scratchVolume(ENVOY_SCRATCH_VOLUME),
                identityVolume(identity),
                dynamicVolume(dynamic),
                scratchVolume("app-tmp"),
              ],
            },
          },
        },
      },
      // Children do not inherit the component's dependsOn (data stores, policies, image loads): pass it on.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    if (args.replicas > 1) {
      this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
        `${name}-disruption-budget`,
        { metadata: { name: component, namespace, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selectorFor(component) } } },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
