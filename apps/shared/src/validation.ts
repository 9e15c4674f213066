// Request validation. Fastify's default Ajv coerces types everywhere, which would
// quietly turn a body's "5" into 5. Bodies are JSON and must already carry the
// right types, so they get a strict validator; path and query strings are text by
// nature, so they keep coercion ("?limit=10" becomes 10).
import { Ajv, type Options } from "ajv";
import addFormats from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import { WELL_FORMED_FORMAT } from "./schema-types.js";

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, ...options });
  addFormats.default(ajv);
  ajv.addFormat(WELL_FORMED_FORMAT, (value: string) => value.isWellFormed());
  return ajv;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv({ coerceTypes: false });
  const coercing = makeAjv({ coerceTypes: "array" });
  return ({ schema, httpPart }) => (httpPart === "body" ? strict : coercing).compile(schema as object);
}
