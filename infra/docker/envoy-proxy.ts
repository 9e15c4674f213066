// One Envoy container (the edge, or one replica of a sidecar) in its pod network
// (pod-network.ts): the admin interface listens only on this proxy's address on
// its private operator network and is published on the host's 127.0.0.1
// (see operator-network.ts).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type RenderedProxy, UPSTREAMS_READY_PATH } from "../../envoy-templates/index.js";
import { type Addressing, CONTAINER_IDENTITY_DIR } from "../addressing.js";
import { bashHttpRequest } from "../bash-http.js";
import type { EnvoyLogLevel } from "../config.js";
import { PORTS } from "../model.js";
import { IMAGES } from "../versions.js";
import { WORKLOAD_SIZES, envoyConcurrency } from "../workload-sizes.js";
import { HEALTHCHECK_TIMING, HEALTHY_WAIT_SECONDS, containerOptions, hardened } from "./hardening.js";
import type { IdentityVolume } from "./identity-volume.js";
import { type NetworkAttachment, PodNetwork } from "./pod-network.js";

/** Linux refuses a single argument of 128 KiB (MAX_ARG_STRLEN) or more; keep a margin. */
export const MAX_BOOTSTRAP_BYTES = 96 * 1024;

export interface EnvoyProxyArgs {
  readonly addressing: Addressing;
  /** The proxy replica's files from the plan; its bootstrap goes on the command line. */
  readonly config: RenderedProxy;
  /** The pinned Envoy image, pulled once for the whole mesh. */
  readonly image: pulumi.Input<string>;
  readonly logLevel: EnvoyLogLevel;
  /** The mesh network and, for sidecars, the internal networks of their data stores. */
  readonly networks: readonly NetworkAttachment[];
  /** Host port (127.0.0.1 only) of the admin interface. */
  readonly adminHostPort: number;
  /** More published ports, e.g. the edge's gateway. */
  readonly publish?: readonly docker.types.input.ContainerPort[];
  /** The workload's identity volume, mounted read-only at the addressing's identity directory (its writer must be in dependsOn). */
  readonly identity: IdentityVolume;
}

/**
 * Bash's /dev/tcp asks the proxy's metrics listener for UPSTREAMS_READY_PATH,
 * which answers 200 once every service the proxy routes to has a healthy host.
 * The pod loopback reaches it: it listens on every address of the pod.
 */
export function upstreamsReadyProbe(loopback: string): string {
  return `${bashHttpRequest("GET", UPSTREAMS_READY_PATH, { address: loopback, port: PORTS.envoyMetrics })} && read -r status <&3 && [[ $status == "HTTP/1.1 200 "* ]]`;
}

export class EnvoyProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** The pod's network namespace, which a sidecar's app joins too. */
  readonly pod: PodNetwork;
  readonly proxy: string;
  /** http://127.0.0.1:<port> on the host. */
  readonly adminUrl: string;

  constructor(name: string, args: EnvoyProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:EnvoyProxy", name, {}, opts);
    const { addressing } = args;
    const { proxy, replica, bootstrap } = args.config;
    this.proxy = proxy;
    const binding = addressing.binding(proxy, replica);
    const admin = binding.admin;
    if (Buffer.byteLength(bootstrap) > MAX_BOOTSTRAP_BYTES) {
      throw new Error(`${name}: Envoy bootstrap of ${Buffer.byteLength(bootstrap)} bytes is too long for --config-yaml`);
    }

    this.pod = new PodNetwork(
      `${name}-pod`,
      {
        proxy,
        replica,
        image: args.image,
        imageUser: IMAGES.envoy,
        networks: args.networks,
        ports: [{ internal: admin.port, external: args.adminHostPort, ip: "127.0.0.1" }, ...(args.publish ?? [])],
      },
      { parent: this },
    );
    if (this.pod.operatorAddress !== admin.address) {
      throw new Error(`${name}: admin binds ${admin.address}, but the pod's operator address is ${this.pod.operatorAddress}`);
    }

    this.container = new docker.Container(
      `${name}-envoy`,
      {
        image: args.image,
        entrypoints: ["/usr/local/bin/envoy"],
        // The bootstrap as an argument, not a file: nothing to upload into the read-only root
        // (see config-volumes.ts for why uploads cannot go there). Bootstraps stay far below
        // the kernel's 128 KiB limit on one argument (checked above), and hold no secret.
        // The command is part of the container's inputs: a changed config replaces this container only.
        command: ["--config-yaml", bootstrap, "--log-level", args.logLevel, "--concurrency", String(envoyConcurrency(WORKLOAD_SIZES.envoy))],
        networkMode: this.pod.networkMode,
        volumes: [args.identity.mount(CONTAINER_IDENTITY_DIR)],
        healthcheck: { tests: ["CMD", "bash", "-c", upstreamsReadyProbe(binding.podLoopback)], ...HEALTHCHECK_TIMING },
        // `pulumi up` returns once the proxy can route: for the edge, once the gateway serves.
        wait: true,
        waitTimeout: HEALTHY_WAIT_SECONDS,
        // Envoy exits on SIGTERM without draining; Docker waits this long before SIGKILL.
        stopTimeout: 15,
        ...hardened(IMAGES.envoy, WORKLOAD_SIZES.envoy, { readOnlyRoot: true, tmpfs: ["/tmp"] }),
      },
      // Its replacement binds the same listener ports in the same namespace: the old one goes first.
      // Children do not inherit the component's dependsOn: pass it on.
      containerOptions({ parent: this, deleteBeforeReplace: true, dependsOn: opts?.dependsOn }),
    );
    this.adminUrl = `http://127.0.0.1:${args.adminHostPort}`;
    this.registerOutputs({ adminUrl: this.adminUrl });
  }
}
