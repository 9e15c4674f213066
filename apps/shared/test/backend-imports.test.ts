// Each app loads the client libraries of its own backends and no others: a client
// library costs memory in every process that loads it (ioredis and amqplib added
// about 6 MiB to the catalog's RSS when the kit's root re-exported every client).
//
// Without starting a process: the app's import graph is walked from src/main.ts as
// the compiler emits it (type-only imports erased, `import { type X }` kept as a
// load, as under verbatimModuleSyntax), the kit's subpaths resolved through its
// package.json "exports". Every third-party package reached counts with all the
// packages its manifest depends on, so a library pulled in indirectly counts too.
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const APPS_DIR = fileURLToPath(new URL("../../", import.meta.url));
const KIT_DIR = join(APPS_DIR, "shared");
const KIT_NAME = "@mesh/service-kit";

/** The backends' client libraries, and which of them each app is expected to load. */
const CLIENT_LIBRARIES = ["pg", "node-pg-migrate", "ioredis", "amqplib", "amqp-connection-manager"];
const POSTGRES = ["pg", "node-pg-migrate"];
const RABBITMQ = ["amqplib", "amqp-connection-manager"];
const EXPECTED: Record<string, string[]> = {
  catalog: POSTGRES,
  cart: ["ioredis"],
  orders: [...POSTGRES, ...RABBITMQ],
  "order-worker": [...POSTGRES, ...RABBITMQ],
};

interface ExportConditions {
  types: string;
  development: string;
  default: string;
}
const kitManifest = JSON.parse(readFileSync(join(KIT_DIR, "package.json"), "utf8")) as { name: string; exports: Record<string, ExportConditions> };

const compilerOptions = {
  ...ts.parseJsonConfigFileContent(ts.readConfigFile(join(APPS_DIR, "tsconfig.base.json"), ts.sys.readFile).config, ts.sys, APPS_DIR).options,
  // One file at a time: ES module syntax out, imports as the apps' settings leave them.
  module: ts.ModuleKind.ESNext,
};

const specifiersByFile = new Map<string, string[]>();

/** The specifiers a source file loads at run time (static, re-exports and dynamic). */
function runtimeSpecifiers(file: string): string[] {
  let specifiers = specifiersByFile.get(file);
  if (!specifiers) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions, fileName: file });
    specifiers = ts.preProcessFile(outputText, true, true).importedFiles.map((f) => f.fileName);
    specifiersByFile.set(file, specifiers);
  }
  return specifiers;
}

const isBuiltin = (specifier: string) => specifier.startsWith("node:") || builtinModules.includes(specifier);
const packageName = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

/** The kit's module for `specifier` under the "development" condition (its source, as the tests run it). */
function kitModule(specifier: string): string {
  const entry = kitManifest.exports[`.${specifier.slice(KIT_NAME.length)}`];
  if (!entry) throw new Error(`${specifier} is not exported by ${KIT_NAME}`);
  return join(KIT_DIR, entry.development);
}

/** The app's own and the kit's source files reached from `entry`, and the third-party packages they import (with the importing directory). */
function walkSources(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!existsSync(file)) throw new Error(`${file}: no such module`);
    for (const specifier of runtimeSpecifiers(file)) {
      if (isBuiltin(specifier)) continue;
      if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
      else if (packageName(specifier) === KIT_NAME) pending.push(kitModule(specifier));
      else if (!packages.has(packageName(specifier))) packages.set(packageName(specifier), dirname(file));
    }
  }
  return packages;
}

/** The directory of package `name` as Node finds it from `fromDir` (node_modules folders upwards), or undefined. */
function findPackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** `roots` and every package their manifests depend on (dependencies, optional and peer), by name. */
function packageClosure(roots: Map<string, string>): Set<string> {
  const names = new Set<string>();
  const visited = new Set<string>();
  const pending = [...roots].map(([name, fromDir]) => ({ name, fromDir, required: true }));
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const dir = findPackage(next.name, next.fromDir);
    if (!dir) {
      if (next.required) throw new Error(`package ${next.name} not found from ${next.fromDir}`);
      continue;
    }
    names.add(next.name);
    if (visited.has(dir)) continue;
    visited.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    for (const name of Object.keys(manifest.dependencies ?? {})) pending.push({ name, fromDir: dir, required: true });
    for (const name of [...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]) pending.push({ name, fromDir: dir, required: false });
  }
  return names;
}

describe("the backend client libraries each app loads", () => {
  it.each(Object.entries(EXPECTED))("%s loads only its own backends' clients", (app, expected) => {
    const loaded = packageClosure(walkSources(join(APPS_DIR, app, "src", "main.ts")));
    expect(CLIENT_LIBRARIES.filter((library) => loaded.has(library)).sort()).toEqual([...expected].sort());
  });

  it("the kit's root loads no client library", () => {
    const loaded = packageClosure(walkSources(kitModule(KIT_NAME)));
    expect(CLIENT_LIBRARIES.filter((library) => loaded.has(library))).toEqual([]);
  });
});

describe(`${KIT_NAME}'s exports`, () => {
  it.each(Object.entries(kitManifest.exports))("%s names one module for types, development and default", (_subpath, entry) => {
    // Conditions match in the order written: types for the compiler, then the source for tests, then the build.
    expect(Object.keys(entry)).toEqual(["types", "development", "default"]);
    const module = entry.development.replace(/^\.\/src\//, "").replace(/\.ts$/, "");
    expect(entry).toEqual({ types: `./dist/${module}.d.ts`, development: `./src/${module}.ts`, default: `./dist/${module}.js` });
    expect(existsSync(join(KIT_DIR, entry.development))).toBe(true);
  });
});
