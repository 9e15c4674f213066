-- Up Migration

-- The transactional outbox: one row per order.placed message, written in the same
-- statement as the order, published by the orders service's relay and then marked.
CREATE TABLE order_outbox (
  id bigserial PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  -- B3 headers of the request that placed the order: the publish and the worker join its trace.
  trace_headers jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Failed publishes so far, and when the next try is due (exponential backoff).
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- Set once the broker confirmed; published rows are pruned after a while.
  published_at timestamptz
);
-- What the relay claims (oldest first) and the outbox age gauge reads: only the unpublished rows.
CREATE INDEX order_outbox_unpublished_idx ON order_outbox (created_at) WHERE published_at IS NULL;
CREATE INDEX order_outbox_published_idx ON order_outbox (published_at) WHERE published_at IS NOT NULL;

-- Idempotency-Key of POST /orders: the order a key placed and a fingerprint of the
-- request body, so a retry with the same body answers that order and a different
-- body is refused. Kept at least 24 hours.
CREATE TABLE order_idempotency_keys (
  key text PRIMARY KEY,
  request_fingerprint text NOT NULL,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_idempotency_keys_created_at_idx ON order_idempotency_keys (created_at);

-- Down Migration
DROP TABLE order_idempotency_keys;
DROP TABLE order_outbox;
