-- Orders, executions, positions and the audit log. Money and sizes are NUMERIC: exact decimals.
CREATE TABLE IF NOT EXISTS orders (
    order_link_id     text PRIMARY KEY,
    symbol            text NOT NULL,
    side              text NOT NULL,
    qty               numeric NOT NULL,
    price             numeric,
    status            text NOT NULL,
    cum_qty           numeric NOT NULL DEFAULT 0,
    avg_price         numeric,
    exchange_order_id text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_symbol_status ON orders (symbol, status);

CREATE TABLE IF NOT EXISTS executions (
    exec_id       text PRIMARY KEY,
    order_link_id text NOT NULL REFERENCES orders (order_link_id),
    symbol        text NOT NULL,
    side          text NOT NULL,
    qty           numeric NOT NULL,
    price         numeric NOT NULL,
    fee           numeric NOT NULL DEFAULT 0,
    executed_at   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS positions (
    symbol       text PRIMARY KEY,
    size         numeric NOT NULL,
    avg_entry    numeric,
    realized_pnl numeric NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every action that can move capital: who (actor), what (action on subject), when, why.
CREATE TABLE IF NOT EXISTS audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    at_ms   bigint NOT NULL,
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL,
    reason  text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (subject, action, at_ms)
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
