// index.ts itself: stack config in (as the Pulumi CLI hands it over), stack outputs out.
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { captureResources } from "../../tools/resource-graph.js";

type Program = typeof import("../../index.js");

/** Imports a fresh copy of the program under mocks with the given `mesh:*` config. */
async function importProgram(config: Record<string, string>): Promise<Program> {
  pulumi.runtime.setAllConfig(config);
  let program: Promise<Program> | undefined;
  await captureResources("test", () => {
    program = import("../../index.js");
    // Registrations start only once the module has run: wait for it inside the capture.
    return program.catch(() => undefined);
  });
  return program as Promise<Program>;
}

const outputValue = <T>(output: pulumi.Input<T>) => new Promise<T>((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));

describe("the Pulumi program (index.ts)", () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it("stands the Docker target up from stack config and exports where to reach it", async () => {
    const program = await importProgram({ "mesh:target": "docker", "mesh:gatewayPort": "18080", "mesh:replicas": '{"catalog":2}' });
    expect(await outputValue(program.gatewayUrl)).toBe("http://127.0.0.1:18080");
    const admin = (await outputValue(program.adminUrls)) ?? {};
    expect(program.adminPortForwards).toBeUndefined();
    expect(admin["catalog-sidecar"]).toEqual(["http://127.0.0.1:9921", "http://127.0.0.1:9922"]);
    expect(admin.edge).toEqual(["http://127.0.0.1:9901"]);
    expect(await outputValue(program.prometheusUrl)).toBe("http://127.0.0.1:9090");
    expect(program.grafanaAdminPassword).toBeDefined();
    expect(await pulumi.isSecret(program.grafanaAdminPassword as pulumi.Output<string>)).toBe(true);
  });

  it("exports what meshOutputs gives a program run inline (the deploy lanes, the rollout on a stack), under the same names, and the Grafana password", async () => {
    const program = await importProgram({ "mesh:target": "kubernetes" });
    const { meshOutputs } = await import("../../infra/mesh-program.js");
    const names = Object.keys(meshOutputs({} as Parameters<typeof meshOutputs>[0]));
    expect(Object.keys(program).sort()).toEqual([...names, "grafanaAdminPassword"].sort());
  });

  it.each(["docker", "kubernetes"])("on %s without Grafana (mesh:grafana false) exports no Grafana URL or password", async (target) => {
    const program = await importProgram({ "mesh:target": target, "mesh:grafana": "false" });
    expect(program.grafanaUrl).toBeUndefined();
    expect(program.grafanaAdminPassword).toBeUndefined();
    expect(await outputValue(program.prometheusUrl)).toBe("http://127.0.0.1:9090");
  });

  it("stands the Kubernetes target up from stack config and exports how to reach each admin", async () => {
    const program = await importProgram({ "mesh:target": "kubernetes", "mesh:kubeContext": "kind-mesh" });
    expect(await outputValue(program.grafanaUrl)).toBe("http://127.0.0.1:3000");
    // The admins stay on pod loopbacks: no URL that nothing serves, but the port-forward that serves it.
    expect(program.adminUrls).toBeUndefined();
    const forwards = (await outputValue(program.adminPortForwards)) ?? {};
    expect(Object.keys(forwards)).toEqual(["edge", "catalog-sidecar", "cart-sidecar", "orders-sidecar", "order-worker-sidecar"]);
    expect(forwards["catalog-sidecar"]).toEqual({ command: "kubectl --context kind-mesh -n mesh port-forward deployment/catalog 9921:9901", url: "http://127.0.0.1:9921" });
    expect(forwards.edge).toEqual({ command: "kubectl --context kind-mesh -n mesh port-forward deployment/edge 9901:9901", url: "http://127.0.0.1:9901" });
  });

  it.each([
    [{}, /"mesh:target": expected one of docker, kubernetes, got nothing/],
    [{ "mesh:target": "docker", "mesh:replicas": '{"payments":2}' }, /"mesh:replicas.payments": expected a known service/],
    [{ "mesh:target": "docker", "mesh:grafanaPort": "9902" }, /"mesh:grafanaPort": expected a host port not already used by "mesh:adminPortBase"/],
  ])("surfaces a stack config error before declaring anything: %j", async (config, message) => {
    await expect(importProgram(config)).rejects.toThrow(message);
  });
});
