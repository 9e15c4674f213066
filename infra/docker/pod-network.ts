// The network namespace of one Docker "pod" (a proxy, and for sidecars its app),
// held by a container that only sleeps, as Kubernetes' pause container does.
// Envoy and the app join it (networkMode container:<holder>), so either can crash
// and be restarted by Docker back into the same namespace, with the same
// addresses, aliases and published ports. Joined to a container that restarts,
// they would stay behind in its old, disconnected namespace for good.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PinnedImage } from "../versions.js";
import { containerOptions, hardened } from "./hardening.js";
import { operatorSubnet } from "./operator-network.js";

export interface NetworkAttachment {
  readonly network: docker.Network;
  readonly aliases: readonly string[];
}

export interface PodNetworkArgs {
  readonly proxy: string;
  readonly replica: number;
  /** Any image with /bin/sleep; the proxy's own, so nothing more is pulled. */
  readonly image: pulumi.Input<string>;
  readonly imageUser: PinnedImage;
  /** The mesh network and, for sidecars, the internal networks of their data stores. */
  readonly networks: readonly NetworkAttachment[];
  readonly ports: readonly docker.types.input.ContainerPort[];
}

/** It only sleeps: the least the daemon lets a container have. */
const HOLDER_SIZE = { cpu: 0.1, memoryMiB: 16 };

export class PodNetwork extends pulumi.ComponentResource {
  readonly holder: docker.Container;
  /** For the containers that join it. */
  readonly networkMode: pulumi.Output<string>;
  /** The proxy's address on its operator network, where its admin interface listens. */
  readonly operatorAddress: string;

  constructor(name: string, args: PodNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:PodNetwork", name, {}, opts);
    const subnet = operatorSubnet(args.proxy, args.replica);
    this.operatorAddress = subnet.proxyAddress;
    const operatorNetwork = new docker.Network(
      `${name}-operator`,
      { driver: "bridge", internal: false, ipamConfigs: [{ subnet: subnet.subnet, gateway: subnet.gateway }] },
      { parent: this },
    );
    this.holder = new docker.Container(
      `${name}-holder`,
      {
        image: args.image,
        hostname: args.proxy,
        entrypoints: ["/bin/sleep", "infinity"],
        // Nothing to drain: stop at once instead of waiting out a SIGTERM that sleep ignores.
        stopSignal: "SIGKILL",
        networksAdvanced: [
          // Highest gateway priority: Docker publishes ports through this network, where admin listens.
          { name: operatorNetwork.name, ipv4Address: subnet.proxyAddress, gwPriority: 100 },
          ...args.networks.map((n) => ({ name: n.network.name, aliases: [...n.aliases] })),
        ],
        ports: [...args.ports],
        ...hardened(args.imageUser, HOLDER_SIZE, { readOnlyRoot: true }),
      },
      // A fixed address and fixed host ports cannot be held by two containers at once.
      containerOptions({ parent: this, deleteBeforeReplace: true }),
    );
    this.networkMode = pulumi.interpolate`container:${this.holder.id}`;
    this.registerOutputs({});
  }
}
