import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { APP_DOCKERFILE } from "../../infra/app-images.js";
import { SERVICE_NAMES } from "../../infra/model.js";
import { IMAGES } from "../../infra/versions.js";

// A CommonJS module whose typings claim an ES default export; required for what it really exports.
const dockerignore = createRequire(import.meta.url)("@balena/dockerignore") as typeof import("@balena/dockerignore").default;
const root = new URL("../../", import.meta.url);
const dockerfile = readFileSync(new URL(APP_DOCKERFILE, root), "utf8");

const ignoreLines = () =>
  readFileSync(new URL(`${APP_DOCKERFILE}.dockerignore`, root), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));

/** What the build (and the provider's change detection) sees of the repository: tracked files the ignore file lets in. */
function buildContext(): string[] {
  const tracked = execFileSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);
  return dockerignore().add(ignoreLines()).filter(tracked);
}

describe("the app image build", () => {
  it("builds every app from one Dockerfile on the NODE_IMAGE argument, defaulting to the pinned image", () => {
    expect(dockerfile).toContain(`ARG NODE_IMAGE=${IMAGES.node.ref}\n`);
    const froms = dockerfile.split("\n").filter((line) => line.startsWith("FROM "));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\} AS \w+$/);
    // Each stage declares the app argument it uses.
    expect(dockerfile.match(/^ARG APP$/gm)).toHaveLength(froms.length);
  });

  it("has no # syntax= line, which makes BuildKit fetch its frontend from a registry (no offline or air-gapped build)", () => {
    expect(dockerfile).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it("lets folders back in only by name: the engine skips an excluded folder unless an exception's path starts with it literally", () => {
    // moby's archive (the legacy builder and the Docker provider's context tar) compares the
    // exception's text with the folder's path: "!apps/*/src/" never opens "apps/catalog".
    const exceptions = ignoreLines().filter((line) => line.startsWith("!"));
    expect(exceptions.length).toBeGreaterThan(0);
    for (const exception of exceptions) expect(exception, exception).not.toMatch(/[*?[]/);
  });

  it("sends only the manifests and the apps' sources and migrations as context", () => {
    const context = buildContext();
    // Editing these must never rebuild an image (and replace its containers).
    for (const outside of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.kind.yaml", "index.ts", "README.md", "infra/config.ts", "scripts/setup.sh"]) {
      expect(context, outside).not.toContain(outside);
    }
    expect(context.filter((f) => f.includes("/test/") || f.endsWith(".test.ts"))).toEqual([]);
    for (const needed of ["package.json", "package-lock.json", "apps/tsconfig.base.json", "apps/shared/package.json", "apps/catalog/migrations"]) {
      expect(context.some((f) => f === needed || f.startsWith(`${needed}/`)), needed).toBe(true);
    }
    for (const service of SERVICE_NAMES) {
      expect(context, service).toContain(`apps/${service}/src/main.ts`);
      expect(context, service).toContain(`apps/${service}/package.json`);
    }
  });
});
