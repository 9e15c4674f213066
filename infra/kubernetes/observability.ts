// Prometheus, Grafana and Zipkin: Deployments with their generated config in
// autonamed ConfigMaps (a change rolls the pod), each behind a NodePort Service
// named as addressing expects (kind maps the NodePorts to the host's 127.0.0.1).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  type ArtifactDir,
  GRAFANA_DASHBOARD_ARTIFACTS,
  GRAFANA_PROVISIONING_ARTIFACTS,
  PROMETHEUS_ARTIFACTS,
  artifactsIn,
} from "../artifacts/placement.js";
import type { MeshSecrets } from "../mesh-secrets.js";
import { PORTS } from "../model.js";
import type { ImageKey, PinnedImage } from "../versions.js";
import { ZIPKIN_CONTAINER_ENV } from "../zipkin-storage.js";
import { WORKLOAD_SIZES, type WorkloadSize } from "../workload-sizes.js";
import { NODE_PORTS } from "./node-ports.js";
import { type Container, componentLabels, configMapFiles, podEnv, resources, restrictedContainer, restrictedPod, scratchVolume, selectorFor } from "./workload.js";
import { GRAFANA_DATA_PATH, HEALTH_PATHS, PROMETHEUS_DATA_PATH, grafanaEnv, prometheusArgs } from "../observability/servers.js";

export interface ObservabilityArgs {
  readonly namespace: pulumi.Input<string>;
  readonly secrets: MeshSecrets;
  readonly artifacts: Readonly<Record<string, string>>;
  readonly images: Readonly<Record<ImageKey, PinnedImage>>;
  /** Whether to run Grafana (stack config). */
  readonly grafana: boolean;
}

interface AppSpec {
  readonly component: "prometheus" | "grafana" | "zipkin";
  readonly image: PinnedImage;
  readonly size: WorkloadSize;
  readonly port: number;
  readonly nodePort: number;
  readonly healthPath: string;
  readonly container: Omit<Container, "name" | "image" | "ports" | "resources" | "securityContext" | "readinessProbe" | "livenessProbe">;
  readonly volumes: k8s.types.input.core.v1.Volume[];
}

export class Observability extends pulumi.ComponentResource {
  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:Observability", name, {}, opts);
    const { namespace } = args;

    const artifactVolume = (volume: string, dir: ArtifactDir, component: string) => {
      const files = configMapFiles(artifactsIn(args.artifacts, dir));
      const configMap = new k8s.core.v1.ConfigMap(`${name}-${volume}`, { metadata: { namespace, labels: componentLabels(component) }, data: files.data }, { parent: this });
      return { name: volume, configMap: { name: configMap.metadata.name, items: files.items } };
    };
    const grafanaSpec = (): AppSpec => {
      const grafana = grafanaEnv();
      const grafanaAdmin = new k8s.core.v1.Secret(
        `${name}-grafana-admin`,
        { metadata: { namespace, labels: componentLabels("grafana") }, stringData: args.secrets.values(grafana) },
        { parent: this },
      );
      return {
        component: "grafana",
        image: args.images.grafana,
        size: WORKLOAD_SIZES.grafana,
        port: PORTS.grafana,
        nodePort: NODE_PORTS.grafana,
        healthPath: HEALTH_PATHS.grafana,
        container: {
          env: podEnv(grafana, grafanaAdmin.metadata.name),
          volumeMounts: [
            { name: "data", mountPath: GRAFANA_DATA_PATH },
            { name: "provisioning", mountPath: GRAFANA_PROVISIONING_ARTIFACTS.mountPath, readOnly: true },
            { name: "dashboards", mountPath: GRAFANA_DASHBOARD_ARTIFACTS.mountPath, readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
            { name: "logs", mountPath: "/var/log/grafana" },
          ],
        },
        volumes: [
          { name: "data", emptyDir: { sizeLimit: "512Mi" } },
          artifactVolume("provisioning", GRAFANA_PROVISIONING_ARTIFACTS, "grafana"),
          artifactVolume("dashboards", GRAFANA_DASHBOARD_ARTIFACTS, "grafana"),
          scratchVolume("tmp"),
          scratchVolume("logs"),
        ],
      };
    };

    const specs: AppSpec[] = [
      {
        component: "prometheus",
        image: args.images.prometheus,
        size: WORKLOAD_SIZES.prometheus,
        port: PORTS.prometheus,
        nodePort: NODE_PORTS.prometheus,
        healthPath: HEALTH_PATHS.prometheus,
        container: {
          args: prometheusArgs("kubernetes"),
          volumeMounts: [
            { name: "config", mountPath: PROMETHEUS_ARTIFACTS.mountPath, readOnly: true },
            { name: "data", mountPath: PROMETHEUS_DATA_PATH },
          ],
        },
        volumes: [artifactVolume("config", PROMETHEUS_ARTIFACTS, "prometheus"), { name: "data", emptyDir: { sizeLimit: "2Gi" } }],
      },
      ...(args.grafana ? [grafanaSpec()] : []),
      {
        component: "zipkin",
        image: args.images.zipkin,
        size: WORKLOAD_SIZES.zipkin,
        port: PORTS.zipkin,
        nodePort: NODE_PORTS.zipkin,
        healthPath: HEALTH_PATHS.zipkin,
        container: {
          env: [
            ...Object.entries(ZIPKIN_CONTAINER_ENV).map(([name, value]) => ({ name, value })),
          ],
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        },
        volumes: [scratchVolume("tmp")],
      },
    ];

    for (const spec of specs) {
      const labels = componentLabels(spec.component);
      new k8s.core.v1.Service(
        `${name}-${spec.component}-service`,
        {
          // Named as the component: addressing resolves <component>.<namespace>.svc.
          metadata: { name: spec.component, namespace, labels },
          spec: {
            type: "NodePort",
            selector: selectorFor(spec.component),
            ports: [{ name: "http", port: spec.port, targetPort: spec.port, nodePort: spec.nodePort }],
          },
        },
        { parent: this },
      );
      const probe = { httpGet: { path: spec.healthPath, port: spec.port }, periodSeconds: 10, timeoutSeconds: 5 };
      new k8s.apps.v1.Deployment(
        `${name}-${spec.component}`,
        {
          metadata: { namespace, labels },
          spec: {
            replicas: 1,
            // One writer of the emptyDir at a time.
            strategy: { type: "Recreate" },
            selector: { matchLabels: selectorFor(spec.component) },
            template: {
              metadata: { labels },
              spec: {
                automountServiceAccountToken: false,
                securityContext: restrictedPod(spec.image.gid === 0 ? undefined : spec.image.gid),
                containers: [
                  {
                    ...spec.container,
                    name: spec.component,
                    image: spec.image.ref,
                    ports: [{ name: "http", containerPort: spec.port }],
                    readinessProbe: probe,
                    livenessProbe: { ...probe, initialDelaySeconds: 30, failureThreshold: 6 },
                    resources: resources(spec.size),
                    securityContext: restrictedContainer(spec.image),
                  },
                ],
                volumes: spec.volumes,
              },
            },
          },
        },
        // Children do not inherit the component's dependsOn: pass it on.
        { parent: this, dependsOn: opts?.dependsOn },
      );
    }
    this.registerOutputs({});
  }
}
