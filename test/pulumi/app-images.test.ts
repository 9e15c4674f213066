import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SERVICE_NAMES } from "../../infra/model.js";
import { IMAGES } from "../../infra/versions.js";

// The Docker target builds each app from its Dockerfile with NODE_IMAGE set to the pinned base;
// a Dockerfile that ignored the argument (or defaulted to another release) would drift from it.
describe("app Dockerfiles and the pinned Node base", () => {
  it.each(SERVICE_NAMES)("%s builds and runs on the NODE_IMAGE argument, defaulting to the pinned image", (service) => {
    const dockerfile = readFileSync(new URL(`../../apps/${service}/Dockerfile`, import.meta.url), "utf8");
    expect(dockerfile).toContain(`ARG NODE_IMAGE=${IMAGES.node.ref}\n`);
    const froms = dockerfile.split("\n").filter((line) => line.startsWith("FROM "));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\} AS \w+$/);
  });
});
