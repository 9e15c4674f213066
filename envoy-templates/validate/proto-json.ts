// A strict proto3-JSON parse of a plain object against a protobufjs message type: field names
// as in the .proto or their JSON (lowerCamel) names, well-known types in their JSON forms
// (durations "5s", wrappers as bare values, Any with "@type"), enums by name, unknown fields
// rejected at every depth, Any payloads resolved and checked too. Errors name the path.
import protobuf from "protobufjs";

export class ProtoJsonError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path || "(root)"}: ${problem}`);
    this.name = "ProtoJsonError";
  }
}

export interface ProtoJsonOptions {
  /** Reject fields the protos mark deprecated (keeps configs on the current API). */
  readonly rejectDeprecated?: boolean;
}

/** Throws a ProtoJsonError naming the first problem; returns the @types of every Any met. */
export function checkProtoJson(root: protobuf.Root, typeName: string, value: unknown, options: ProtoJsonOptions = {}): Set<string> {
  const checker = new Checker(root, options);
  checker.message(messageType(root, typeName), value, "");
  return checker.anyTypes;
}

function messageType(root: protobuf.Root, name: string): protobuf.Type {
  const found = root.lookup(name);
  if (!(found instanceof protobuf.Type)) throw new Error(`no message type ${name} in the loaded protos`);
  return found;
}

type Json = unknown;

function isPlainObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: Json): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** protoc's default JSON name: snake_case to lowerCamelCase. */
function jsonName(field: protobuf.Field): string {
  const explicit = (field.options as Record<string, unknown> | undefined)?.json_name;
  if (typeof explicit === "string") return explicit;
  return field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const WRAPPERS: Record<string, string> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};

// Durations: seconds with up to 9 fractional digits, within ±10,000 years.
const DURATION = /^-?(\d+)(\.\d{1,9})?s$/;
const MAX_DURATION_SECONDS = 315_576_000_000;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const TYPED_STRUCTS = new Set(["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"]);

class Checker {
  readonly anyTypes = new Set<string>();
  private readonly fieldIndex = new Map<protobuf.Type, Map<string, protobuf.Field>>();

  constructor(
    private readonly root: protobuf.Root,
    private readonly options: ProtoJsonOptions,
  ) {}

  message(type: protobuf.Type, value: Json, path: string): void {
    const name = type.fullName.slice(1);
    if (this.wellKnown(name, value, path)) return;
    if (!isPlainObject(value)) throw new ProtoJsonError(path, `expected an object (${name}), got ${show(value)}`);
    const given = new Map<protobuf.Field, string>();
    const oneofs = new Map<string, string>();
    for (const [key, fieldValue] of Object.entries(value)) {
      const fieldPath = child(path, key);
      const field = this.fields(type).get(key);
      if (!field) throw new ProtoJsonError(fieldPath, `unknown field "${key}" in ${name}${this.suggestion(type, key)}`);
      const twice = given.get(field);
      if (twice !== undefined) throw new ProtoJsonError(fieldPath, `field given twice, as "${twice}" and "${key}"`);
      given.set(field, key);
      if (this.options.rejectDeprecated && field.options?.deprecated === true) {
        throw new ProtoJsonError(fieldPath, `field "${key}" of ${name} is deprecated`);
      }
      // proto3 JSON: null means "the default" for any field (and is the only NullValue).
      if (fieldValue === null) continue;
      const oneof = field.partOf;
      if (oneof) {
        const other = oneofs.get(oneof.name);
        if (other !== undefined) throw new ProtoJsonError(fieldPath, `"${key}" and "${other}" are both set, but only one of oneof "${oneof.name}" may be`);
        oneofs.set(oneof.name, key);
      }
      this.field(field, fieldValue, fieldPath);
    }
    if (TYPED_STRUCTS.has(name)) this.typedStruct(value, path);
  }

  private fields(type: protobuf.Type): Map<string, protobuf.Field> {
    let index = this.fieldIndex.get(type);
    if (!index) {
      index = new Map();
      for (const field of type.fieldsArray) {
        index.set(field.name, field);
        index.set(jsonName(field), field);
      }
      this.fieldIndex.set(type, index);
    }
    return index;
  }

  private suggestion(type: protobuf.Type, key: string): string {
    let best: string | undefined;
    let bestDistance = 3;
    for (const field of type.fieldsArray) {
      const distance = editDistance(key.toLowerCase(), field.name.toLowerCase());
      if (distance < bestDistance) [best, bestDistance] = [field.name, distance];
    }
    return best ? ` (did you mean "${best}"?)` : "";
  }

  private field(field: protobuf.Field, value: Json, path: string): void {
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) throw new ProtoJsonError(path, `expected an object (map), got ${show(value)}`);
      for (const [key, entry] of Object.entries(value)) {
        const entryPath = `${path}["${key}"]`;
        this.mapKey(field.keyType, key, entryPath);
        this.single(field, entry, entryPath);
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new ProtoJsonError(path, `expected a list, got ${show(value)}`);
      value.forEach((item, i) => {
        if (item === null) throw new ProtoJsonError(`${path}[${i}]`, "null is not allowed in a list");
        this.single(field, item, `${path}[${i}]`);
      });
    } else this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: Json, path: string): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) this.message(resolved, value, path);
    else if (resolved instanceof protobuf.Enum) this.enumValue(resolved, value, path);
    else this.scalar(field.type, value, path);
  }

  private mapKey(keyType: string, key: string, path: string): void {
    if (keyType === "string") return;
    if (keyType === "bool" ? key !== "true" && key !== "false" : !/^-?\d+$/.test(key)) {
      throw new ProtoJsonError(path, `bad map key "${key}" (expected ${keyType})`);
    }
  }

  private enumValue(type: protobuf.Enum, value: Json, path: string): void {
    const name = type.fullName.slice(1);
    if (typeof value === "string" && Object.hasOwn(type.values, value)) return;
    if (typeof value === "number" && Object.values(type.values).includes(value)) return;
    throw new ProtoJsonError(path, `bad enum value ${show(value)} for ${name} (expected one of ${Object.keys(type.values).join(", ")})`);
  }

  private scalar(kind: string, value: Json, path: string): void {
    const range = INT_RANGES[kind];
    if (range) {
      const text = typeof value === "number" && Number.isInteger(value) ? String(value) : typeof value === "string" && /^-?\d+$/.test(value) ? value : undefined;
      if (text === undefined) throw new ProtoJsonError(path, `bad ${kind} ${show(value)} (expected an integer)`);
      const n = BigInt(text);
      if (n < range[0] || n > range[1]) throw new ProtoJsonError(path, `${kind} ${text} out of range`);
      return;
    }
    switch (kind) {
      case "double":
      case "float":
        if (typeof value === "number" || (typeof value === "string" && /^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/.test(value))) return;
        throw new ProtoJsonError(path, `bad ${kind} ${show(value)} (expected a number)`);
      case "bool":
        if (typeof value === "boolean") return;
        throw new ProtoJsonError(path, `bad bool ${show(value)} (expected true or false)`);
      case "string":
        if (typeof value === "string") return;
        throw new ProtoJsonError(path, `bad string ${show(value)} (expected a string)`);
      case "bytes":
        if (typeof value === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return;
        throw new ProtoJsonError(path, `bad bytes ${show(value)} (expected base64)`);
      default:
        throw new ProtoJsonError(path, `unsupported scalar type ${kind}`);
    }
  }

  /** The JSON forms of google.protobuf's well-known types; false when `name` is not one. */
  private wellKnown(name: string, value: Json, path: string): boolean {
    const wrapped = WRAPPERS[name];
    if (wrapped) {
      this.scalar(wrapped, value, path);
      return true;
    }
    switch (name) {
      case "google.protobuf.Duration": {
        const match = typeof value === "string" ? DURATION.exec(value) : null;
        if (!match || Number(match[1]) > MAX_DURATION_SECONDS) {
          throw new ProtoJsonError(path, `bad duration ${show(value)} (expected seconds with an "s" suffix, like "1.5s")`);
        }
        return true;
      }
      case "google.protobuf.Timestamp":
        if (typeof value === "string" && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))) return true;
        throw new ProtoJsonError(path, `bad timestamp ${show(value)} (expected RFC 3339)`);
      case "google.protobuf.FieldMask":
        if (typeof value === "string") return true;
        throw new ProtoJsonError(path, `bad field mask ${show(value)} (expected a string)`);
      case "google.protobuf.Empty":
        if (isPlainObject(value) && Object.keys(value).length === 0) return true;
        throw new ProtoJsonError(path, `expected {} (google.protobuf.Empty), got ${show(value)}`);
      case "google.protobuf.Struct":
        if (isPlainObject(value)) return true;
        throw new ProtoJsonError(path, `expected an object (google.protobuf.Struct), got ${show(value)}`);
      case "google.protobuf.ListValue":
        if (Array.isArray(value)) return true;
        throw new ProtoJsonError(path, `expected a list (google.protobuf.ListValue), got ${show(value)}`);
      case "google.protobuf.Value":
        return true;
      case "google.protobuf.Any":
        this.any(value, path);
        return true;
      default:
        return false;
    }
  }

  private any(value: Json, path: string): void {
    if (!isPlainObject(value)) throw new ProtoJsonError(path, `expected an object with "@type" (google.protobuf.Any), got ${show(value)}`);
    const url = value["@type"];
    if (typeof url !== "string") throw new ProtoJsonError(path, `missing "@type" (google.protobuf.Any)`);
    const type = this.resolveTypeUrl(url, path);
    const payload = Object.fromEntries(Object.entries(value).filter(([key]) => key !== "@type"));
    const name = type.fullName.slice(1);
    if (name.startsWith("google.protobuf.") && (WRAPPERS[name] || ["Duration", "Timestamp", "FieldMask", "Struct", "Value", "ListValue", "Any"].includes(name.slice(16)))) {
      // Well-known types with a non-object JSON form sit under "value" inside an Any.
      for (const key of Object.keys(payload)) {
        if (key !== "value") throw new ProtoJsonError(child(path, key), `unknown field "${key}" in an Any of ${name} (only "value")`);
      }
      this.message(type, payload.value, child(path, "value"));
      return;
    }
    this.message(type, payload, path);
  }

  private resolveTypeUrl(url: string, path: string): protobuf.Type {
    const name = url.slice(url.lastIndexOf("/") + 1);
    const found = url.includes("/") && name ? this.root.lookup(name) : null;
    if (!(found instanceof protobuf.Type)) {
      throw new ProtoJsonError(child(path, "@type"), `unknown @type "${url}" (no such message in Envoy's loaded v3 protos)`);
    }
    this.anyTypes.add(name);
    return found;
  }

  /** TypedStruct carries its message as a Struct: check it as the message its type_url names. */
  private typedStruct(value: Record<string, Json>, path: string): void {
    const url = value.type_url ?? value.typeUrl;
    if (typeof url !== "string") return;
    this.message(this.resolveTypeUrl(url, path), value.value ?? {}, child(path, "value"));
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
