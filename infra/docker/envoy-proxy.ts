// One Envoy container (the edge, or one replica of a sidecar) with its private
// operator network: the admin interface listens only on this proxy's address
// there and is published on the host's 127.0.0.1 (see operator-network.ts).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderProxyConfig } from "../../envoy-templates/index.js";
import type { Addressing } from "../addressing.js";
import type { EnvoyLogLevel } from "../config.js";
import type { MeshModel } from "../model.js";
import { IMAGES } from "../versions.js";
import { WORKLOAD_SIZES } from "../workload-sizes.js";
import { HEALTHCHECK_TIMING, hardened } from "./hardening.js";
import { operatorSubnet } from "./operator-network.js";

/** Linux refuses a single argument of 128 KiB (MAX_ARG_STRLEN) or more; keep a margin. */
export const MAX_BOOTSTRAP_BYTES = 96 * 1024;

export interface NetworkAttachment {
  readonly network: docker.Network;
  readonly aliases: readonly string[];
}

export interface EnvoyProxyArgs {
  readonly model: MeshModel;
  readonly addressing: Addressing;
  readonly proxy: string;
  readonly replica: number;
  /** The pinned Envoy image, pulled once for the whole mesh. */
  readonly image: pulumi.Input<string>;
  readonly logLevel: EnvoyLogLevel;
  /** The mesh network and, for sidecars, the internal networks of their data stores. */
  readonly networks: readonly NetworkAttachment[];
  /** Host port (127.0.0.1 only) of the admin interface. */
  readonly adminHostPort: number;
  /** More published ports, e.g. the edge's gateway. */
  readonly publish?: readonly docker.types.input.ContainerPort[];
}

/** Bash's /dev/tcp asks admin /ready, which answers LIVE once Envoy serves traffic. */
function readinessProbe(admin: { address: string; port: number }): string {
  return `exec 3<>/dev/tcp/${admin.address}/${admin.port} && printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q LIVE <&3`;
}

export class EnvoyProxy extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly proxy: string;
  /** http://127.0.0.1:<port> on the host. */
  readonly adminUrl: string;

  constructor(name: string, args: EnvoyProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:EnvoyProxy", name, {}, opts);
    const { proxy, replica, addressing } = args;
    this.proxy = proxy;
    const subnet = operatorSubnet(proxy, replica);
    const admin = addressing.binding(proxy, replica).admin;
    const bootstrap = renderProxyConfig(args.model, proxy, addressing, replica);
    if (Buffer.byteLength(bootstrap) > MAX_BOOTSTRAP_BYTES) {
      throw new Error(`${name}: Envoy bootstrap of ${Buffer.byteLength(bootstrap)} bytes is too long for --config-yaml`);
    }

    const operatorNetwork = new docker.Network(
      `${name}-operator`,
      { driver: "bridge", internal: false, ipamConfigs: [{ subnet: subnet.subnet, gateway: subnet.gateway }] },
      { parent: this },
    );

    this.container = new docker.Container(
      `${name}-envoy`,
      {
        image: args.image,
        hostname: proxy,
        entrypoints: ["/usr/local/bin/envoy"],
        // The bootstrap as an argument, not a file: nothing to upload into the read-only root
        // (see config-volumes.ts for why uploads cannot go there). Bootstraps stay far below
        // the kernel's 128 KiB limit on one argument (checked below), and hold no secret.
        // The command is part of the container's inputs: a changed config replaces this container only.
        command: ["--config-yaml", bootstrap, "--log-level", args.logLevel],
        networksAdvanced: [
          // Highest gateway priority: Docker publishes ports through this network, where admin listens.
          { name: operatorNetwork.name, ipv4Address: subnet.proxyAddress, gwPriority: 100 },
          ...args.networks.map((n) => ({ name: n.network.name, aliases: [...n.aliases] })),
        ],
        ports: [{ internal: admin.port, external: args.adminHostPort, ip: "127.0.0.1" }, ...(args.publish ?? [])],
        healthcheck: { tests: ["CMD", "bash", "-c", readinessProbe(admin)], ...HEALTHCHECK_TIMING },
        // Envoy drains listeners on SIGTERM within its drain time.
        stopTimeout: 15,
        ...hardened(IMAGES.envoy, WORKLOAD_SIZES.envoy, { readOnlyRoot: true, tmpfs: ["/tmp"] }),
      },
      // A fixed address and fixed host ports cannot be held by two containers at once.
      // Children do not inherit the component's dependsOn: pass it on.
      { parent: this, deleteBeforeReplace: true, dependsOn: opts?.dependsOn },
    );
    this.adminUrl = `http://127.0.0.1:${args.adminHostPort}`;
    this.registerOutputs({ adminUrl: this.adminUrl });
  }
}
