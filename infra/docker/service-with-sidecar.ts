// One mesh service on Docker: per replica an Envoy sidecar and the app container
// in one pod network namespace (pod-network.ts), as in a Kubernetes pod. The app listens on the
// shared loopback only; everything in and out goes through the sidecar. All
// replicas' sidecars carry the service's alias on the mesh network, so Envoy's
// STRICT_DNS clusters find and balance them.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type RenderedProxy, findProxy } from "../../envoy-templates/index.js";
import type { Addressing } from "../addressing.js";
import type { AdminPort, EnvoyLogLevel } from "../config.js";
import { type DataStoreName, PORTS, type ServiceSpec, sidecarName } from "../model.js";
import { IMAGES } from "../versions.js";
import { APP_STOP_GRACE_SECONDS, WORKLOAD_SIZES } from "../workload-sizes.js";
import type { EnvEntry } from "../environment.js";
import type { MeshSecrets } from "../mesh-secrets.js";
import type { DataStore } from "./data-store.js";
import { dockerEnv } from "./env.js";
import type { IdentityVolume } from "./identity-volume.js";
import { EnvoyProxy } from "./envoy-proxy.js";
import { HEALTHCHECK_TIMING, HEALTHY_WAIT_SECONDS, containerOptions, hardened } from "./hardening.js";

export interface ServiceWithSidecarArgs {
  readonly service: ServiceSpec;
  /** Its sidecars' files from the plan, one per replica. */
  readonly proxies: readonly RenderedProxy[];
  readonly addressing: Addressing;
  /** Image ID of the app image (an ID, so a rebuilt image replaces the containers). */
  readonly appImage: pulumi.Input<string>;
  readonly envoyImage: pulumi.Input<string>;
  /** The app's environment, its secrets by reference. */
  readonly environment: readonly EnvEntry[];
  readonly secrets: MeshSecrets;
  readonly meshNetwork: docker.Network;
  readonly dataStores: Readonly<Record<DataStoreName, DataStore>>;
  /** Admin host ports of this service's sidecar replicas. */
  readonly adminPorts: readonly AdminPort[];
  readonly logLevel: EnvoyLogLevel;
  /** The service's identity volume, shared by its sidecar replicas. */
  readonly identity: IdentityVolume;
}

/** Liveness of the app itself, from inside the shared namespace (the image has node, nothing else). */
function appHealthcheck(loopback: string): string[] {
  const url = `http://${loopback}:${PORTS.app}/healthz`;
  return ["CMD", "node", "-e", `fetch(${JSON.stringify(url)}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`];
}

export class ServiceWithSidecar extends pulumi.ComponentResource {
  readonly sidecars: EnvoyProxy[] = [];
  readonly apps: docker.Container[] = [];

  constructor(name: string, args: ServiceWithSidecarArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:ServiceWithSidecar", name, {}, opts);
    const { service, addressing } = args;
    const proxy = sidecarName(service.name);
    const stores = service.dataStores.map((store) => args.dataStores[store]);
    const envs = dockerEnv(args.environment, args.secrets);

    for (let replica = 0; replica < service.replicas; replica++) {
      const adminPort = args.adminPorts.find((p) => p.proxy === proxy && p.replica === replica);
      if (!adminPort) throw new Error(`no admin host port for ${proxy} replica ${replica}`);
      const sidecar = new EnvoyProxy(
        `${name}-sidecar-${replica}`,
        {
          addressing,
          config: findProxy(args.proxies, proxy, replica),
          image: args.envoyImage,
          logLevel: args.logLevel,
          networks: [
            { network: args.meshNetwork, aliases: [addressing.serviceHost(service.name, "stable")] },
            ...stores.map((store) => ({ network: store.network, aliases: [] })),
          ],
          adminHostPort: adminPort.port,
          identity: args.identity,
        },
        // The sidecar's egress listeners front the stores: start them first; its identity is written before it starts.
        { parent: this, dependsOn: [...stores.map((store) => store.container), args.identity.writer] },
      );
      const loopback = addressing.binding(proxy, replica).podLoopback;
      const app = new docker.Container(
        `${name}-app-${replica}`,
        {
          image: args.appImage,
          // The pod: app and sidecar share one network namespace (and its loopback).
          networkMode: sidecar.pod.networkMode,
          envs,
          healthcheck: { tests: appHealthcheck(loopback), ...HEALTHCHECK_TIMING },
          wait: true,
          waitTimeout: HEALTHY_WAIT_SECONDS,
          // Longer than the app's own drain timeout, so it exits on its own terms.
          stopTimeout: APP_STOP_GRACE_SECONDS,
          ...hardened(IMAGES.node, WORKLOAD_SIZES.app, { readOnlyRoot: true, tmpfs: ["/tmp"] }),
        },
        containerOptions({ parent: this, dependsOn: [sidecar, ...stores.map((store) => store.container)] }),
      );
      this.sidecars.push(sidecar);
      this.apps.push(app);
    }
    this.registerOutputs({});
  }
}
