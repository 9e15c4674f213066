// Zipkin keeps spans in memory on every target: its store must be bounded to fit the heap,
// or sustained traffic fills it and the JVM spins in garbage collection.
import { describe, expect, it } from "vitest";
import { declaredResources } from "../../tools/resource-graph.js";
import { readStackFile } from "../../infra/stack-config.js";
import { ZIPKIN_MAX_HEAP, ZIPKIN_MAX_STORED_SPANS } from "../../infra/zipkin-storage.js";

describe.each(["dev", "kind"])("Zipkin on stack %s", (stack) => {
  it("stores a bounded number of spans in a bounded heap", async () => {
    const resources = await declaredResources(stack, readStackFile(process.cwd(), stack));
    const zipkin = resources.filter((r) => /zipkin/.test(r.name) && /Container|Deployment/.test(r.type));
    expect(zipkin.length).toBe(1);
    const text = JSON.stringify(zipkin[0]!.inputs);
    for (const setting of [`MEM_MAX_SPANS`, String(ZIPKIN_MAX_STORED_SPANS), `-Xmx${ZIPKIN_MAX_HEAP}`, "STORAGE_TYPE"]) {
      expect(text, setting).toContain(setting);
    }
  });
});
