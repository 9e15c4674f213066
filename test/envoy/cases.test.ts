// Goldens per feature: each envoy-templates/testdata/<case>.in.yaml is a small stack
// config, a proxy (a replica, a release) and what to show of it; <case>.out.yaml beside
// it holds that as the target deploys it: its listeners, clusters and route
// configurations wherever the target puts them (bootstrap or dynamic files), and the
// rest of its bootstrap. A change to one feature shows in its own case. After an
// intended change: `npm run golden:cases` (this test with vitest's --update), then review the diff.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { type EnvoyObject, type RenderedProxy, envoyYaml, renderProxy } from "../../envoy-templates/index.js";
import { meshModelFor, parseStackSettings } from "../../infra/config.js";
import type { Release } from "../../infra/traffic.js";
import { targetAddressing } from "../../tools/render-stack.js";
import { PROJECT_DIR } from "./stacks.js";

const CASES_DIR = join(PROJECT_DIR, "envoy-templates", "testdata");
const KINDS = ["listeners", "clusters", "routes"] as const;
type Kind = (typeof KINDS)[number];
const SHOWN = [...KINDS, "bootstrap"];

interface Case {
  readonly stack: Record<string, unknown>;
  readonly proxy: string;
  readonly replica?: number;
  readonly release?: Release;
  /** Resources by kind (all, or by name); `bootstrap: true`: the bootstrap but its listeners and clusters. */
  readonly show: Partial<Record<Kind, "all" | string[]>> & { readonly bootstrap?: boolean };
}

function readCase(name: string): Case {
  const doc = parse(readFileSync(join(CASES_DIR, `${name}.in.yaml`), "utf8")) as Partial<Case> | null;
  if (!doc?.stack || typeof doc.proxy !== "string" || !doc.show) throw new Error(`${name}.in.yaml: needs stack, proxy and show`);
  for (const kind of Object.keys(doc.show)) {
    if (!SHOWN.includes(kind)) throw new Error(`${name}.in.yaml: show.${kind} is not one of ${SHOWN.join(", ")}`);
  }
  return doc as Case;
}

/** Every object nested in `value`, depth first. */
function* objects(value: unknown): Generator<EnvoyObject> {
  if (Array.isArray(value)) for (const v of value) yield* objects(v);
  else if (value !== null && typeof value === "object") {
    yield value as EnvoyObject;
    for (const v of Object.values(value)) yield* objects(v);
  }
}

/**
 * The proxy's resources by kind and name, from its bootstrap and its dynamic files as
 * deployed; an inline route configuration is shown under routes, named in its listener.
 */
function resourcesOf(rendered: RenderedProxy): Record<Kind, Map<string, EnvoyObject>> {
  const { listeners, clusters } = (parse(rendered.bootstrap) as EnvoyObject).static_resources as { listeners: EnvoyObject[]; clusters: EnvoyObject[] };
  const byName = (list: EnvoyObject[]) => new Map(list.map((r) => [String(r.name), r]));
  const resources = { listeners: byName(listeners), clusters: byName(clusters), routes: new Map<string, EnvoyObject>() };
  for (const o of objects(listeners)) {
    if (o.route_config === undefined) continue;
    const routeConfig = o.route_config as EnvoyObject;
    resources.routes.set(String(routeConfig.name), routeConfig);
    o.route_config = `routes/${String(routeConfig.name)}`;
  }
  // A dynamic file is a DiscoveryResponse of typed route configurations or clusters.
  for (const file of Object.values(rendered.dynamicFiles)) {
    for (const { "@type": type, ...resource } of (parse(file) as { resources: EnvoyObject[] }).resources) {
      resources[String(type).endsWith("RouteConfiguration") ? "routes" : "clusters"].set(String(resource.name), resource);
    }
  }
  return resources;
}

/** The bootstrap without its listeners and clusters: admin, node, overload manager, stats, runtime, dynamic resources. */
function bootstrapOf(rendered: RenderedProxy): EnvoyObject {
  const bootstrap = parse(rendered.bootstrap) as EnvoyObject;
  delete bootstrap.static_resources;
  return bootstrap;
}

function render(name: string, { stack, proxy, replica = 0, release = "stable", show }: Case = readCase(name)): string {
  const settings = parseStackSettings(stack);
  const rendered = renderProxy(meshModelFor(settings), proxy, targetAddressing(settings), replica, release);
  const resources = resourcesOf(rendered);
  const shown: Partial<Record<Kind | "bootstrap", unknown>> = show.bootstrap ? { bootstrap: bootstrapOf(rendered) } : {};
  for (const kind of KINDS) {
    const wanted = show[kind];
    if (wanted === undefined) continue;
    const available = resources[kind];
    const names = wanted === "all" ? [...available.keys()].sort() : wanted;
    shown[kind] = names.map((n) => {
      const resource = available.get(n);
      if (!resource) throw new Error(`${name}.in.yaml: ${proxy} has no ${kind} "${n}" (it has: ${[...available.keys()].join(", ")})`);
      return resource;
    });
  }
  return envoyYaml(shown);
}

const cases = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith(".in.yaml"))
  .map((f) => f.slice(0, -".in.yaml".length))
  .sort();

describe("Envoy resources per feature (envoy-templates/testdata)", () => {
  it.each(cases)("%s", async (name) => {
    await expect(render(name)).toMatchFileSnapshot(join(CASES_DIR, `${name}.out.yaml`));
  });

  it("names what a case asks for and the proxy does not have", () => {
    const asking = (show: Case["show"]) => () => render("probe", { stack: { target: "docker" }, proxy: "edge", show });
    expect(asking({ routes: ["nope"] })).toThrow('probe.in.yaml: edge has no routes "nope" (it has: edge_http, edge_https, metrics)');
    expect(asking({ clusters: ["catalog"] })).not.toThrow();
  });

  it("has a case per feature, and no expected output without its input (last: an update writes the outputs first)", () => {
    expect(cases.length).toBeGreaterThanOrEqual(7);
    const outputs = readdirSync(CASES_DIR).filter((f) => f.endsWith(".out.yaml")).map((f) => f.slice(0, -".out.yaml".length));
    expect(outputs.sort()).toEqual(cases);
  });
});
