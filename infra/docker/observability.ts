// Prometheus, Grafana and Zipkin on the mesh network, their UIs published on the
// host's 127.0.0.1 only. Generated configuration arrives in read-only volumes
// named after its content (config-volumes.ts), so a changed dashboard replaces
// Grafana and nothing else. As on Kubernetes, the dashboards volume is mounted
// inside Grafana's data volume, where the provider looks: Docker mounts the
// parent first, and each mount has its own destination.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Addressing } from "../addressing.js";
import {
  type ArtifactDir,
  GRAFANA_DASHBOARD_ARTIFACTS,
  GRAFANA_PROVISIONING_ARTIFACTS,
  PROMETHEUS_ARTIFACTS,
  artifactsIn,
} from "../artifacts/placement.js";
import type { StackSettings } from "../config.js";
import type { MeshSecrets } from "../mesh-secrets.js";
import { PORTS } from "../model.js";
import { IMAGES } from "../versions.js";
import { ZIPKIN_CONTAINER_ENV } from "../zipkin-storage.js";
import { WORKLOAD_SIZES } from "../workload-sizes.js";
import { type ConfigDir, configVolumes } from "./config-volumes.js";
import { HEALTHCHECK_TIMING, containerOptions, hardened } from "./hardening.js";
import { GRAFANA_DATA_PATH, HEALTH_PATHS, PROMETHEUS_DATA_PATH, grafanaEnv, prometheusArgs } from "../observability/servers.js";
import { dockerEnv } from "./env.js";

export interface ObservabilityArgs {
  readonly addressing: Addressing;
  readonly settings: StackSettings;
  readonly secrets: MeshSecrets;
  readonly meshNetwork: docker.Network;
  /** Generated artifacts keyed by relative path (infra/artifacts/index.ts). */
  readonly artifacts: Readonly<Record<string, string>>;
  readonly images: { readonly prometheus: pulumi.Input<string>; readonly grafana?: pulumi.Input<string>; readonly zipkin: pulumi.Input<string> };
}

function artifactDir(artifacts: Readonly<Record<string, string>>, label: string, dir: ArtifactDir): ConfigDir {
  return { label, mountPath: dir.mountPath, files: artifactsIn(artifacts, dir) };
}

function httpCheck(url: string): string[] {
  // Both images ship busybox wget.
  return ["CMD", "wget", "-q", "--spider", url];
}

export class Observability extends pulumi.ComponentResource {

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:Observability", name, {}, opts);
    const { settings, addressing } = args;
    const alias = (host: string | undefined, fallback: string) => [host ?? fallback];
    const onMesh = (aliases: string[]) => [{ name: args.meshNetwork.name, aliases }];

    const prometheusData = new docker.Volume(`${name}-prometheus-data`, {}, { parent: this });
    const prometheusConfig = configVolumes(`${name}-prometheus`, args.images.prometheus, [artifactDir(args.artifacts, "config", PROMETHEUS_ARTIFACTS)], this);
    new docker.Container(
      `${name}-prometheus`,
      {
        image: args.images.prometheus,
        command: prometheusArgs("docker"),
        networksAdvanced: onMesh(alias(addressing.prometheus?.address, "prometheus")),
        volumes: [{ volumeName: prometheusData.name, containerPath: PROMETHEUS_DATA_PATH }, ...prometheusConfig.volumes],
        ports: [{ internal: PORTS.prometheus, external: settings.prometheusPort, ip: "127.0.0.1" }],
        healthcheck: { tests: httpCheck(`http://127.0.0.1:${PORTS.prometheus}${HEALTH_PATHS.prometheus}`), ...HEALTHCHECK_TIMING },
        ...hardened(IMAGES.prometheus, WORKLOAD_SIZES.prometheus, { readOnlyRoot: true, tmpfs: ["/tmp"] }),
      },
      containerOptions({ parent: this, deleteBeforeReplace: true, dependsOn: [prometheusConfig.seed] }),
    );

    // Only where the stack runs Grafana (mesh:grafana); otherwise the image is not even pulled.
    const grafanaImage = args.images.grafana;
    if (grafanaImage !== undefined) {
      const grafanaData = new docker.Volume(`${name}-grafana-data`, {}, { parent: this });
      const grafanaConfig = configVolumes(
        `${name}-grafana`,
        grafanaImage,
        [artifactDir(args.artifacts, "provisioning", GRAFANA_PROVISIONING_ARTIFACTS), artifactDir(args.artifacts, "dashboards", GRAFANA_DASHBOARD_ARTIFACTS)],
        this,
      );
      new docker.Container(
        `${name}-grafana`,
        {
          image: grafanaImage,
          envs: dockerEnv(grafanaEnv(), args.secrets),
          networksAdvanced: onMesh(alias(addressing.grafana?.address, "grafana")),
          volumes: [{ volumeName: grafanaData.name, containerPath: GRAFANA_DATA_PATH }, ...grafanaConfig.volumes],
          ports: [{ internal: PORTS.grafana, external: settings.grafanaPort, ip: "127.0.0.1" }],
          healthcheck: { tests: httpCheck(`http://127.0.0.1:${PORTS.grafana}${HEALTH_PATHS.grafana}`), ...HEALTHCHECK_TIMING },
          ...hardened(IMAGES.grafana, WORKLOAD_SIZES.grafana, { readOnlyRoot: true, tmpfs: ["/tmp", "/var/log/grafana"] }),
        },
        containerOptions({ parent: this, deleteBeforeReplace: true, dependsOn: [grafanaConfig.seed] }),
      );
    }

    new docker.Container(
      `${name}-zipkin`,
      {
        image: args.images.zipkin,
        // Traces are for live debugging: in-memory storage, bounded heap.
        envs: Object.entries(ZIPKIN_CONTAINER_ENV).map(([key, value]) => `${key}=${value}`),
        networksAdvanced: onMesh([addressing.zipkin.address]),
        ports: [{ internal: PORTS.zipkin, external: settings.zipkinPort, ip: "127.0.0.1" }],
        // The image's own health-check script.
        healthcheck: { tests: ["CMD", "docker-healthcheck"], ...HEALTHCHECK_TIMING },
        ...hardened(IMAGES.zipkin, WORKLOAD_SIZES.zipkin, { readOnlyRoot: true, tmpfs: ["/tmp"] }),
      },
      containerOptions({ parent: this, deleteBeforeReplace: true }),
    );

    this.registerOutputs({});
  }
}
