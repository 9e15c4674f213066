// What can be checked of the images without a Docker engine: each Dockerfile is
// multi-stage on Node 24, copies and installs only its own workspace and the
// shared kit (production dependencies only in the final stage), runs as a
// non-root user, and its CMD names a file the build really produces.
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApps, REPO_ROOT } from "./support/apps.js";

const APPS = ["catalog", "cart", "orders", "order-worker"] as const;

beforeAll(async () => {
  await buildApps();
}, 240_000);

describe.each(APPS)("apps/%s/Dockerfile", (app) => {
  const dockerfile = readFileSync(`${REPO_ROOT}apps/${app}/Dockerfile`, "utf8");
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const finalStage = stages.at(-1) ?? "";

  it("is multi-stage on Node 24 slim (the NODE_IMAGE argument, which defaults to it)", () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24(\.\d+)*-\w+-slim$/m);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^\$\{NODE_IMAGE\} AS \w+/);
  });

  it("copies and installs only its own workspace and the shared kit", () => {
    expect(dockerfile).toContain(`COPY apps/${app}/ apps/${app}/`);
    expect(dockerfile).toContain("COPY apps/shared/ apps/shared/");
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)].map((m) => m[1]!);
    for (const source of copied) expect(source === "package.json" || source.startsWith(`apps/${app}/`) || source.startsWith("apps/shared/") || source === "apps/tsconfig.base.json").toBe(true);
    expect(finalStage).toContain(`npm ci --omit=dev --ignore-scripts -w apps/shared -w apps/${app}`);
  });

  it("runs as a non-root user", () => {
    const user = [...finalStage.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0", "0:0"]).not.toContain(user);
  });

  it("starts with node on a file the build produces", () => {
    const cmd = /^CMD (\[.*\])\s*$/m.exec(finalStage)?.[1];
    const argv = JSON.parse(cmd ?? "[]") as string[];
    expect(argv).toEqual(["node", `apps/${app}/dist/main.js`]);
    expect(existsSync(`${REPO_ROOT}${argv[1]}`)).toBe(true);
    // Every build output directory the final stage copies exists too.
    for (const [, from] of finalStage.matchAll(/^COPY --from=build \/app\/(\S+)/gm)) expect(existsSync(`${REPO_ROOT}${from}`), from).toBe(true);
  });
});

it(".dockerignore keeps dependencies, build output and tool caches out of the context", () => {
  const ignored = readFileSync(`${REPO_ROOT}.dockerignore`, "utf8").split("\n").map((l) => l.trim());
  for (const entry of ["**/node_modules", "**/dist", ".git", ".tools"]) expect(ignored).toContain(entry);
});
