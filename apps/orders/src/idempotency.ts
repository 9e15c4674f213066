// Idempotency-Key on POST /orders: a client that did not get an answer (a
// timeout, a lost connection, a 503 after a commit) retries with the same key
// and gets the order the first attempt placed, never a second one. The same key
// with another body is refused: it names a different request.
import { createHash } from "node:crypto";
import { HttpError } from "@mesh/service-kit";
import { Type } from "typebox";
import type { PlaceOrderBody } from "./schemas.js";

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Keys are honoured at least this long after the order they placed (then pruned by the relay). */
export const IDEMPOTENCY_KEY_RETENTION_HOURS = 24;

/** Printable ASCII without spaces, at most 255 characters: UUIDs, ULIDs and the like all fit. */
export const IdempotencyKey = Type.String({ minLength: 1, maxLength: 255, pattern: "^[!-~]+$" });
/** Headers of POST /orders (Fastify matches header names in lower case; other headers pass). */
export const PlaceOrderHeaders = Type.Object({ [IDEMPOTENCY_KEY_HEADER]: Type.Optional(IdempotencyKey) });

/** The same order request gives the same fingerprint: its items, in order, and nothing else. */
export function requestFingerprint(body: PlaceOrderBody): string {
  const canonical = JSON.stringify(body.items.map((i) => [i.productId, i.quantity]));
  return createHash("sha256").update(canonical).digest("hex");
}

export class IdempotencyKeyReusedError extends HttpError {
  constructor() {
    super(422, "idempotency_key_reused", `this ${IDEMPOTENCY_KEY_HEADER} was already used for a different request body; use a new key for a new order`);
  }
}
