import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseMermaid } from "../test/support/mermaid.js";
import { orderFlowDiagram, requestFlowDiagram, topologyDiagram, withDiagrams } from "./diagrams.js";
import { buildMeshModel } from "../infra/model.js";

describe("architecture diagrams", () => {
  const model = buildMeshModel();

  it("are current in README.md (run `npm run diagrams:update` if this fails)", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(withDiagrams(readme, model)).toBe(readme);
  });

  it("draw every service's routes, calls and data stores", () => {
    const topology = topologyDiagram(model);
    for (const service of model.services) {
      for (const route of service.routes) expect(topology).toContain(`|"${route.prefix}"| ${service.name}_sidecar`);
      for (const store of service.dataStores) expect(topology).toMatch(new RegExp(`${service.name.replace("-", "_")}_sidecar -->\\|"TCP :\\d+"\\| ${store}`));
    }
    expect(topology).toContain('orders_sidecar -->|"HTTP egress :9101"| catalog_sidecar');
  });

  it("follow the model: replicas and egress ports show up", () => {
    const scaled = buildMeshModel({ catalog: 3 });
    expect(topologyDiagram(scaled)).toContain('catalog pod ×3');
    expect(orderFlowDiagram(scaled)).toContain("via egress :9101");
  });

  it.each([
    ["topology", topologyDiagram],
    ["request flow", requestFlowDiagram],
    ["order flow", orderFlowDiagram],
  ])("parse as valid Mermaid: %s", async (_name, diagram) => {
    await expect(parseMermaid(diagram(buildMeshModel({ catalog: 2 })))).resolves.toBeTruthy();
  });

  it("would catch broken Mermaid (the parser is really checking)", async () => {
    await expect(parseMermaid("flowchart LR\n a -->|label|")).rejects.toThrow(/Parse error/);
  });

  it("refuse a README without the diagram markers", () => {
    expect(() => withDiagrams("# no markers", model)).toThrow(/diagrams:start/);
  });
});
