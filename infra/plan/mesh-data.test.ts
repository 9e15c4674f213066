// The mesh as data is plain data: it loads no Pulumi (its import graph, as the compiler
// emits it, reaches no @pulumi package), holds no Output, and names the stack's
// passwords without carrying them.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { kubernetesAddressing } from "../kubernetes/addressing.js";
import { meshModelFor, parseStackSettings } from "../config.js";
import { planMeshData } from "./mesh-data.js";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Every package the module at `entry` loads at run time, through the project's own modules (type-only imports erased). */
function runtimePackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!existsSync(file)) throw new Error(`${file}: no such module`);
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions: { module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false }, fileName: file });
    for (const { fileName: specifier } of ts.preProcessFile(outputText, true, true).importedFiles) {
      if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
      else if (!specifier.startsWith("node:")) packages.add(specifier);
    }
  }
  return packages;
}

/** Every value nested in `value`. */
function* values(value: unknown): Generator<unknown> {
  yield value;
  if (value !== null && typeof value === "object") for (const v of Object.values(value)) yield* values(v);
}

describe("the mesh as data (infra/plan/mesh-data.ts)", () => {
  it("loads no Pulumi", () => {
    const packages = [...runtimePackages(join(HERE, "mesh-data.ts"))];
    expect(packages.length, "it reaches the generators' own libraries").toBeGreaterThan(0);
    expect(packages.filter((p) => p.startsWith("@pulumi/"))).toEqual([]);
    // The walk sees Pulumi where it is loaded: the plan that adds the secrets.
    expect([...runtimePackages(join(HERE, "mesh-plan.ts"))]).toContain("@pulumi/pulumi");
  });

  it("holds no Output, and no password of the stack outside its settings", () => {
    const passwords = { postgresAppPassword: "pgApp6d1f0a93c2e4", postgresSuperuserPassword: "pgSuper9b2e71d4a0c", redisPassword: "redis4c7a2f9e01bd", rabbitmqPassword: "rabbit1e8d5c3b7a6f" };
    const settings = parseStackSettings({ target: "kubernetes", ...passwords }, new Set(Object.keys(passwords)));
    // The settings carry the provided passwords as given: everything else must not.
    const data = { ...planMeshData(meshModelFor(settings), settings, kubernetesAddressing(settings.namespace, settings)), settings: undefined };
    expect([...values(data)].filter((v) => pulumi.Output.isInstance(v))).toEqual([]);
    const text = JSON.stringify(data);
    for (const password of Object.values(passwords)) expect(text).not.toContain(password);
    expect(data.proxies.length).toBeGreaterThan(4);
    expect(data.services.find((s) => s.spec.name === "orders")?.environment).toContainEqual(expect.objectContaining({ name: "DATABASE_URL", secret: expect.objectContaining({ password: "postgresApp" }) }));
  });
});
