// What can be checked of the images without a Docker engine: the one Dockerfile is
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

const dockerfile = readFileSync(`${REPO_ROOT}apps/Dockerfile`, "utf8");
const stages = dockerfile.split(/^FROM /m).slice(1);
const finalStage = stages.at(-1) ?? "";
/** The Dockerfile as Docker reads it for one app: every ${APP} replaced by the build argument. */
const forApp = (text: string, app: string) => text.replaceAll("${APP}", app);

describe("apps/Dockerfile", () => {
  it("is multi-stage on Node 24 slim (the NODE_IMAGE argument, which defaults to it), the app an argument of every stage", () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24(\.\d+)*-\w+-slim$/m);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      expect(stage).toMatch(/^\$\{NODE_IMAGE\} AS \w+/);
      expect(stage).toMatch(/^ARG APP$/m);
    }
  });

  it("refuses to build without an app", () => {
    expect(stages[0]).toContain('test -n "${APP}" ||');
  });

  it("runs as a non-root user", () => {
    const user = [...finalStage.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0", "0:0"]).not.toContain(user);
  });
});

describe.each(APPS)("apps/Dockerfile for %s", (app) => {
  const text = forApp(dockerfile, app);
  const final = forApp(finalStage, app);

  it("copies and installs only its own workspace and the shared kit", () => {
    expect(text).toContain(`COPY apps/${app}/ apps/${app}/`);
    expect(text).toContain("COPY apps/shared/ apps/shared/");
    const copied = [...text.matchAll(/^COPY (?!--from)(\S+)/gm)].map((m) => m[1]!);
    for (const source of copied) expect(source === "package.json" || source.startsWith(`apps/${app}/`) || source.startsWith("apps/shared/") || source === "apps/tsconfig.base.json").toBe(true);
    expect(final).toContain(`npm ci --omit=dev --ignore-scripts -w apps/shared -w "apps/${app}"`);
  });

  it("starts with node on a file the build produces, from the app's folder", () => {
    const workdir = [...final.matchAll(/^WORKDIR (\S+)/gm)].at(-1)?.[1];
    expect(workdir).toBe(`/app/apps/${app}`);
    const cmd = /^CMD (\[.*\])\s*$/m.exec(final)?.[1];
    const argv = JSON.parse(cmd ?? "[]") as string[];
    expect(argv).toEqual(["node", "dist/main.js"]);
    expect(existsSync(`${REPO_ROOT}apps/${app}/${argv[1]}`)).toBe(true);
    // Every build output directory the final stage copies exists too (migrations: made empty where an app has none).
    for (const [, from] of final.matchAll(/^COPY --from=build \/app\/(\S+)/gm)) {
      if (!from!.endsWith("/migrations")) expect(existsSync(`${REPO_ROOT}${from}`), from).toBe(true);
    }
  });
});
