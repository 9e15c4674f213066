// Envoy's v3 API protos, as shipped by @grpc/grpc-js-xds under deps/, loaded with protobufjs.
// The package carries a subset of the API: files whose imports are missing are left out,
// and listed by `unloadableProtos()` so callers can say exactly what cannot be checked.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import protobuf from "protobufjs";

function depsDir(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve("@grpc/grpc-js-xds"));
  while (!existsSync(join(dir, "deps", "envoy-api"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("@grpc/grpc-js-xds has no deps/envoy-api: run npm install");
    dir = parent;
  }
  return join(dir, "deps");
}

function protobufjsDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("protobufjs/package.json"));
}

const DEPS = depsDir();
const ENVOY_API = join(DEPS, "envoy-api");
const INCLUDE_DIRS = [ENVOY_API, join(DEPS, "xds"), join(DEPS, "googleapis"), join(DEPS, "protoc-gen-validate"), protobufjsDir()];
// protobufjs provides these well-known types itself.
const BUILT_IN = /^google\/protobuf\/(any|duration|empty|field_mask|struct|timestamp|wrappers)\.proto$/;

function locate(file: string): string | undefined {
  for (const dir of INCLUDE_DIRS) {
    const path = join(dir, file);
    if (existsSync(path)) return path;
  }
  return undefined;
}

function importsOf(path: string): string[] {
  return [...readFileSync(path, "utf8").matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)].map((m) => m[1] as string);
}

export interface UnloadableProto {
  readonly file: string;
  /** The first import (possibly indirect) that is not in the package. */
  readonly missing: string;
}

// Envoy also accepts these in typed_config; they live outside the envoy/ tree.
const TYPED_STRUCT_PROTOS = ["udpa/type/v1/typed_struct.proto", "xds/type/v3/typed_struct.proto"];

function listEnvoyProtos(dir = join(ENVOY_API, "envoy")): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listEnvoyProtos(join(dir, entry.name)) : entry.name.endsWith(".proto") ? [join(dir, entry.name)] : []))
    .sort();
}

/** Splits Envoy's protos into those whose whole import closure exists and those that lack a file. */
function partitionProtos(): { loadable: string[]; unloadable: UnloadableProto[] } {
  const missingOf = new Map<string, string | null>();
  const firstMissing = (file: string, visiting: Set<string>): string | null => {
    if (BUILT_IN.test(file)) return null;
    const known = missingOf.get(file);
    if (known !== undefined) return known;
    if (visiting.has(file)) return null;
    visiting.add(file);
    const path = locate(file);
    let missing: string | null = path ? null : file;
    if (path) {
      for (const dependency of importsOf(path)) {
        missing = firstMissing(dependency, visiting);
        if (missing) break;
      }
    }
    missingOf.set(file, missing);
    return missing;
  };
  const loadable: string[] = [];
  const unloadable: UnloadableProto[] = [];
  for (const file of [...listEnvoyProtos().map((path) => relative(ENVOY_API, path)), ...TYPED_STRUCT_PROTOS]) {
    const missing = firstMissing(file, new Set());
    if (missing) unloadable.push({ file, missing });
    else loadable.push(file);
  }
  return { loadable, unloadable };
}

let cached: { root: protobuf.Root; unloadable: UnloadableProto[] } | undefined;

function load(): { root: protobuf.Root; unloadable: UnloadableProto[] } {
  if (cached) return cached;
  const { loadable, unloadable } = partitionProtos();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => locate(target) ?? target;
  // keepCase: field names stay as in the .proto (snake_case); JSON names are derived from them.
  root.loadSync(loadable, { keepCase: true });
  root.resolveAll();
  cached = { root, unloadable };
  return cached;
}

/** Every loadable Envoy proto (and its imports), resolved. Loaded once per process. */
export function envoyProtoRoot(): protobuf.Root {
  return load().root;
}

/** Envoy protos in the package that cannot be loaded, with the import each one lacks. */
export function unloadableProtos(): UnloadableProto[] {
  return load().unloadable;
}
