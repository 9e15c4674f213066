import { describe, expect, it } from "vitest";
import { MAX_REPLICAS } from "../config.js";
import { EDGE_PROXY, SERVICE_NAMES, sidecarName } from "../model.js";
import { OPERATOR_NETWORK_BLOCK, operatorSubnet } from "./operator-network.js";

const toNumber = (ip: string) => ip.split(".").map(Number).reduce((n, o) => n * 256 + o, 0);

describe("operator networks", () => {
  const [blockAddress, prefix] = OPERATOR_NETWORK_BLOCK.split("/") as [string, string];
  const blockStart = toNumber(blockAddress);
  const blockEnd = blockStart + 2 ** (32 - Number(prefix));
  const all = [EDGE_PROXY, ...SERVICE_NAMES.map(sidecarName)].flatMap((proxy) =>
    Array.from({ length: MAX_REPLICAS }, (_, replica) => operatorSubnet(proxy, replica)),
  );

  it("gives every possible proxy replica its own /29 inside OPERATOR_NETWORK_BLOCK", () => {
    const starts = all.map((s) => {
      const [network, bits] = s.subnet.split("/") as [string, string];
      expect(bits).toBe("29");
      const start = toNumber(network);
      expect(start % 8).toBe(0);
      expect(start).toBeGreaterThanOrEqual(blockStart);
      expect(start + 8).toBeLessThanOrEqual(blockEnd);
      expect(toNumber(s.gateway)).toBe(start + 1);
      expect(toNumber(s.proxyAddress)).toBe(start + 2);
      return start;
    });
    expect(new Set(starts).size).toBe(all.length);
  });

  it("refuses replicas and proxies outside the plan", () => {
    expect(() => operatorSubnet(EDGE_PROXY, MAX_REPLICAS)).toThrow(/outside/);
    expect(() => operatorSubnet("nobody", 0)).toThrow(/unknown proxy/);
  });
});
