-- The trading spine's records, landed from Kafka by the trading-records sink (at-least-once):
-- every table has a natural unique key, so a redelivered event writes nothing twice.

-- An order row can be started by its risk decision or by its first exchange event, whichever
-- lands first; the event time orders the updates (an older event never overwrites a newer one).
ALTER TABLE orders ALTER COLUMN side DROP NOT NULL;
ALTER TABLE orders ALTER COLUMN qty DROP NOT NULL;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS signal_id text;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS reduce_only boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS updated_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS reason text;

-- Every order event as the exchange reported it (the state machine's transitions, with times).
CREATE TABLE IF NOT EXISTS order_events (
    order_link_id text NOT NULL,
    kind          text NOT NULL,
    occurred_ms   bigint NOT NULL,
    exec_id       text NOT NULL DEFAULT '',
    symbol        text NOT NULL,
    payload       jsonb NOT NULL,
    PRIMARY KEY (order_link_id, kind, occurred_ms, exec_id)
);

-- Executions arrive before or without their order row: no foreign key.
ALTER TABLE executions DROP CONSTRAINT IF EXISTS executions_order_link_id_fkey;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS is_maker boolean;

-- Each risk answer to a signal, approved with its size or refused with the rule.
CREATE TABLE IF NOT EXISTS risk_decisions (
    decision_id    text PRIMARY KEY,
    signal_id      text NOT NULL,
    strategy       text NOT NULL,
    symbol         text NOT NULL,
    side           text NOT NULL,
    approved       boolean NOT NULL,
    qty            numeric,
    price          numeric,
    order_link_id  text,
    rule           text NOT NULL,
    reason         text NOT NULL,
    trading_state  text NOT NULL,
    decided_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS risk_decisions_signal ON risk_decisions (signal_id);

-- Current positions (also the closed ones, at size 0) and every change with its cause.
ALTER TABLE positions ADD COLUMN IF NOT EXISTS fees_paid numeric NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN IF NOT EXISTS unrealized_pnl numeric NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN IF NOT EXISTS mark_price numeric;
ALTER TABLE positions ADD COLUMN IF NOT EXISTS opened_at timestamptz;
ALTER TABLE positions ADD COLUMN IF NOT EXISTS updated_ms bigint NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS position_changes (
    symbol         text NOT NULL,
    cause          text NOT NULL,
    updated_ms     bigint NOT NULL,
    size           numeric NOT NULL,
    entry_price    numeric NOT NULL,
    realized_pnl   numeric NOT NULL,
    fees_paid      numeric NOT NULL,
    unrealized_pnl numeric NOT NULL,
    PRIMARY KEY (symbol, cause)
);
