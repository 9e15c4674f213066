// The local toolchain (scripts/versions.sh, installed by scripts/setup.sh) and the
// images the targets deploy (infra/versions.ts) must name the same releases where
// the registries allow it; a bump in one place without the other fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IMAGES } from "../../infra/versions.js";

function toolchainVersions(): Record<string, string> {
  const text = readFileSync(new URL("../../scripts/versions.sh", import.meta.url), "utf8");
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("local toolchain and pinned images", () => {
  const local = toolchainVersions();

  it.each([
    ["NODE_VERSION", IMAGES.node.ref, (v: string) => `node:${v}-`],
    ["ENVOY_VERSION", IMAGES.envoy.ref, (v: string) => `envoyproxy/envoy:v${v}`],
    ["ZIPKIN_VERSION", IMAGES.zipkin.ref, (v: string) => `openzipkin/zipkin:${v}`],
  ])("%s is the release the image pins", (key, ref, expected) => {
    const version = local[key];
    expect(version, `${key} in scripts/versions.sh`).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ref.startsWith(expected(version!)), `${ref} vs ${key}=${version}`).toBe(true);
  });
});
