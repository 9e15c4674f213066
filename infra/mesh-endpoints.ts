// What a target hands back to the program's stack outputs.
import type * as pulumi from "@pulumi/pulumi";

export interface MeshEndpoints {
  /** Public entry: the edge proxy's HTTP listener. */
  readonly gatewayUrl: pulumi.Input<string>;
  /** Envoy admin interfaces on the host's 127.0.0.1, per proxy, one per replica. */
  readonly adminUrls: pulumi.Input<Record<string, string[]>>;
  readonly prometheusUrl: pulumi.Input<string>;
  readonly grafanaUrl: pulumi.Input<string>;
  readonly zipkinUrl: pulumi.Input<string>;
  /** Secret. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
}

/** Groups admin URLs by proxy, replicas in order. */
export function adminUrlsByProxy(entries: ReadonlyArray<{ proxy: string; url: string }>): Record<string, string[]> {
  const byProxy: Record<string, string[]> = {};
  for (const { proxy, url } of entries) (byProxy[proxy] ??= []).push(url);
  return byProxy;
}
