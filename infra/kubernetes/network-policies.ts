// Default deny for every pod in the namespace, DNS for all, and per component
// exactly the ingress and egress of meshFlows().
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshModel } from "../model.js";
import { type Flow, type FlowOptions, OUTSIDE, meshComponents, meshFlows } from "./network-flows.js";
import { COMPONENT_LABEL, componentLabels, selectorFor } from "./workload.js";

export interface NetworkPoliciesArgs {
  readonly model: MeshModel;
  readonly namespace: pulumi.Input<string>;
  readonly options: FlowOptions;
}

type Rule = { port: number; peers: string[] };

/** Groups flows by port: one rule per port, listing every peer. */
function rulesByPort(flows: Flow[], peer: (f: Flow) => string): Rule[] {
  const byPort = new Map<number, Set<string>>();
  for (const f of flows) byPort.set(f.port, (byPort.get(f.port) ?? new Set()).add(peer(f)));
  return [...byPort.entries()].sort(([a], [b]) => a - b).map(([port, peers]) => ({ port, peers: [...peers].sort() }));
}

function podPeers(components: string[]) {
  return [{ podSelector: { matchExpressions: [{ key: COMPONENT_LABEL, operator: "In", values: components }] } }];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:NetworkPolicies", name, {}, opts);
    const metadata = (policy: string) => ({ name: policy, namespace: args.namespace, labels: componentLabels("network-policy") });

    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      { metadata: metadata("default-deny"), spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      { parent: this },
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-dns`,
      {
        metadata: metadata("allow-dns"),
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
              ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
            },
          ],
        },
      },
      { parent: this },
    );

    const flows = meshFlows(args.model, args.options);
    for (const component of meshComponents(args.model, args.options)) {
      const ingress = rulesByPort(flows.filter((f) => f.to === component), (f) => f.from).map(({ port, peers }) => ({
        ports: [{ protocol: "TCP", port }],
        // A NodePort's traffic arrives from outside the cluster: no peer restriction on that port.
        ...(peers.includes(OUTSIDE) ? {} : { from: podPeers(peers) }),
      }));
      const egress = rulesByPort(flows.filter((f) => f.from === component), (f) => f.to).map(({ port, peers }) => ({
        ports: [{ protocol: "TCP", port }],
        to: podPeers(peers),
      }));
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${component}`,
        { metadata: metadata(`allow-${component}`), spec: { podSelector: { matchLabels: selectorFor(component) }, policyTypes: ["Ingress", "Egress"], ingress, egress } },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
