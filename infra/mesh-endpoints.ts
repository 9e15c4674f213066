// What a target hands back to the program's stack outputs.
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./config.js";

export interface MeshEndpoints {
  /** Public entry: the edge proxy's HTTP listener. */
  readonly gatewayUrl: pulumi.Input<string>;
  /** The edge's HTTPS listener, where the target serves one. */
  readonly gatewayHttpsUrl: pulumi.Input<string> | undefined;
  /** The mesh CA's certificates (PEM): what clients of gatewayHttpsUrl trust for the generated certificate. */
  readonly meshCaCertificate: pulumi.Input<string> | undefined;
  /** Docker: the Envoy admin interfaces published on the host's 127.0.0.1, per proxy, one per replica. */
  readonly adminUrls: Record<string, string[]> | undefined;
  /**
   * Kubernetes: per proxy, the command that serves its admin interface (which
   * stays on the pod loopback) on the host's 127.0.0.1, and the URL it is then at.
   */
  readonly adminPortForwards: Record<string, { command: string; url: string }> | undefined;
  readonly prometheusUrl: pulumi.Input<string>;
  /** Absent where the stack runs no Grafana. */
  readonly grafanaUrl: pulumi.Input<string> | undefined;
  readonly zipkinUrl: pulumi.Input<string>;
  /** Secret; absent where the stack runs no Grafana. */
  readonly grafanaAdminPassword: pulumi.Output<string> | undefined;
}

/** Groups admin URLs by proxy, replicas in order. */
export function adminUrlsByProxy(entries: ReadonlyArray<{ proxy: string; url: string }>): Record<string, string[]> {
  const byProxy: Record<string, string[]> = {};
  for (const { proxy, url } of entries) (byProxy[proxy] ??= []).push(url);
  return byProxy;
}

/**
 * The URLs both targets serve on the host's 127.0.0.1 at the stack's ports: Docker
 * publishes them, kind maps its NodePorts to them (infra/kubernetes/kind-cluster.yaml).
 */
export function hostEndpoints(settings: Pick<StackSettings, "gatewayPort" | "prometheusPort" | "grafanaPort" | "zipkinPort" | "grafana">) {
  const at = (port: number) => `http://127.0.0.1:${port}`;
  return {
    gatewayUrl: at(settings.gatewayPort),
    prometheusUrl: at(settings.prometheusPort),
    grafanaUrl: settings.grafana ? at(settings.grafanaPort) : undefined,
    zipkinUrl: at(settings.zipkinPort),
  };
}

/** The top-level component of a target: where to reach what it stood up. */
export abstract class MeshComponent extends pulumi.ComponentResource implements MeshEndpoints {
  gatewayUrl!: string;
  gatewayHttpsUrl!: pulumi.Input<string> | undefined;
  meshCaCertificate!: pulumi.Input<string> | undefined;
  adminUrls!: Record<string, string[]> | undefined;
  adminPortForwards!: Record<string, { command: string; url: string }> | undefined;
  prometheusUrl!: string;
  grafanaUrl!: string | undefined;
  zipkinUrl!: string;
  grafanaAdminPassword!: pulumi.Output<string> | undefined;

  /** Records the endpoints and registers them as outputs (the password stays out: it is a secret output of the stack). */
  protected publish(endpoints: MeshEndpoints & { gatewayUrl: string; prometheusUrl: string; grafanaUrl: string | undefined; zipkinUrl: string }): void {
    Object.assign(this, endpoints);
    const { gatewayUrl, gatewayHttpsUrl, meshCaCertificate, adminUrls, adminPortForwards, prometheusUrl, grafanaUrl, zipkinUrl } = endpoints;
    this.registerOutputs({ gatewayUrl, gatewayHttpsUrl, meshCaCertificate, adminUrls, adminPortForwards, prometheusUrl, grafanaUrl, zipkinUrl });
  }
}
