-- Reconciliation and redelivered reports.

-- An order event's natural key is (order, kind, execution id): an order is accepted, cancelled
-- or submitted once, and filled once per execution. The time is not part of it: the same event
-- pushed on the WebSocket and found again by a query (or reported by two workers) carries two
-- receipt times and must land once.
DELETE FROM order_events a USING order_events b
 WHERE a.order_link_id = b.order_link_id AND a.kind = b.kind AND a.exec_id = b.exec_id
   AND a.occurred_ms > b.occurred_ms;
ALTER TABLE order_events DROP CONSTRAINT IF EXISTS order_events_pkey;
ALTER TABLE order_events ADD PRIMARY KEY (order_link_id, kind, exec_id);

-- Orders found at the exchange that tradestream did not place (adopted by reconciliation).
ALTER TABLE orders ADD COLUMN IF NOT EXISTS external boolean NOT NULL DEFAULT false;
