// Schema building blocks for input the stores must accept exactly as sent. JSON
// allows more than Postgres and Redis keys take: Postgres refuses a NUL in text
// (a 500 if it got that far), and a lone UTF-16 surrogate ("\ud800" in JSON)
// would be stored as U+FFFD, a different string than the client sent.
import { Type, type TStringOptions } from "typebox";

/** No control characters (C0, DEL, C1): a pattern any JSON Schema tool can read, fuzzers included. */
export const NO_CONTROL_CHARACTERS_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/** A string without lone surrogates (String.prototype.isWellFormed); registered with Ajv in validation.ts. */
export const WELL_FORMED_FORMAT = "well-formed-unicode";

/** Free text within `minLength`..`maxLength` code units: printable, well-formed Unicode. */
export function Text(options: TStringOptions & { minLength: number; maxLength: number }) {
  return Type.String({ ...options, pattern: NO_CONTROL_CHARACTERS_PATTERN, format: WELL_FORMED_FORMAT });
}

/**
 * A UUID as the API writes it: lower-case hex, 8-4-4-4-12. Ajv's "uuid" format
 * alone also passes "urn:uuid:..." (Postgres refuses it) and upper case, which
 * would give one product two spellings as a field of a cart's Redis hash.
 */
export const Uuid = Type.String({ format: "uuid", pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" });
