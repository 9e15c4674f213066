-- Up Migration
CREATE TABLE orders (
  id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('pending', 'fulfilled', 'failed')),
  -- [{ productId, quantity, priceCents }], priced from the catalog when the order was placed
  items jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per state change the worker (or the publisher) applied: the audit trail
-- that shows a fulfilment happened exactly once.
CREATE TABLE order_events (
  id bigserial PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  kind text NOT NULL,
  message_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_id_idx ON order_events (order_id);

-- Down Migration
DROP TABLE order_events;
DROP TABLE orders;
