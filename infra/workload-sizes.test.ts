import { describe, expect, it } from "vitest";
import { NODE_OFF_HEAP_MIB, NODE_SEMI_SPACE_MIB, appNodeOptions, nodeHeapLimits } from "./workload-sizes.js";

describe("the apps' V8 heap limits", () => {
  it("give the old generation what the young generation and the off-heap share leave of the container", () => {
    expect(nodeHeapLimits({ cpu: 0.5, memoryMiB: 256 })).toEqual({ semiSpaceMiB: NODE_SEMI_SPACE_MIB, oldSpaceMiB: 256 - 2 * NODE_SEMI_SPACE_MIB - NODE_OFF_HEAP_MIB });
    expect(nodeHeapLimits({ cpu: 1, memoryMiB: 512 }).oldSpaceMiB).toBe(512 - 2 * NODE_SEMI_SPACE_MIB - NODE_OFF_HEAP_MIB);
  });

  it("refuse a container too small to leave the old generation room", () => {
    expect(() => nodeHeapLimits({ cpu: 0.5, memoryMiB: 160 })).toThrow(/160 MiB container/);
  });

  it("cap both generations in Node's options", () => {
    expect(appNodeOptions({ cpu: 0.5, memoryMiB: 256 })).toBe("--max-semi-space-size=16 --max-old-space-size=128");
  });
});
