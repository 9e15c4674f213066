// Schema building blocks for input the stores must accept exactly as sent. JSON
// allows more than Postgres and Redis keys take: Postgres refuses a NUL in text
// (a 500 if it got that far), and a lone UTF-16 surrogate would be stored as
// U+FFFD, a different string than the client sent. Ajv compiles patterns with the
// "u" flag, so a surrogate pair (an emoji) is one code point and passes; only a
// lone half matches the surrogate range.
import { Type, type TStringOptions } from "typebox";

/** No control characters (C0, DEL, C1) and no lone surrogates; what every free-text field accepts. */
export const PRINTABLE_TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]*$";

/** Free text within `minLength`..`maxLength` code units, printable only. */
export function Text(options: TStringOptions & { minLength: number; maxLength: number }) {
  return Type.String({ ...options, pattern: PRINTABLE_TEXT_PATTERN });
}

/**
 * A UUID as the API writes it: lower-case hex, 8-4-4-4-12. Ajv's "uuid" format
 * alone also passes "urn:uuid:..." (Postgres refuses it) and upper case, which
 * would give one product two spellings as a field of a cart's Redis hash.
 */
export const Uuid = Type.String({ format: "uuid", pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" });
