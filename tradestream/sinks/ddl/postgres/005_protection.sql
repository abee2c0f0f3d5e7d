-- Position protection (protection.events, at-least-once): every close decided, sent or held
-- back, how each ended, the aged-position wind-downs and their history, stale-price alerts and
-- stop moves. Natural keys only, so a redelivered event writes nothing twice.

-- One row per close attempt sent (its orderLinkId), with the rule that won, why, and how it
-- ended. ``aged_phase`` is the aged position's phase when an aged close went out.
CREATE TABLE IF NOT EXISTS protection_closes (
    close_id         text PRIMARY KEY,
    symbol           text NOT NULL,
    position_key     text NOT NULL,
    episode          bigint NOT NULL,
    rule             text NOT NULL,
    stage            text NOT NULL DEFAULT '',
    priority         integer NOT NULL,
    leg              integer NOT NULL,
    side             text NOT NULL,
    qty              numeric NOT NULL,
    fraction         numeric NOT NULL,
    trigger_price    numeric,
    observed_price   numeric,
    entry_price      numeric NOT NULL,
    aged_phase       text,
    reason           text NOT NULL,
    decided_ms       bigint NOT NULL,
    decided_at       timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'sent',
    avg_price        numeric,
    realized_pnl_pct numeric,
    end_reason       text,
    ended_ms         bigint
);
CREATE INDEX IF NOT EXISTS protection_closes_position ON protection_closes (position_key);
CREATE INDEX IF NOT EXISTS protection_closes_rule ON protection_closes (rule, decided_at);

-- Closes that fired and were not sent: a lower priority lost to another rule, a close was in
-- flight or waiting to retry, the price was stale, the kill switch was closing everything.
-- A suppression repeated at every evaluation is published at most once a minute.
CREATE TABLE IF NOT EXISTS protection_suppressed (
    symbol          text NOT NULL,
    position_key    text NOT NULL,
    rule            text NOT NULL,
    stage           text NOT NULL DEFAULT '',
    priority        integer NOT NULL,
    suppress_reason text NOT NULL,
    detail          text NOT NULL,
    reason          text NOT NULL,
    age_s           double precision,
    decided_ms      bigint NOT NULL,
    decided_at      timestamptz NOT NULL,
    PRIMARY KEY (position_key, rule, stage, suppress_reason, decided_ms)
);

-- One row per aged position (the spec's columns): its phase now and when it entered each.
CREATE TABLE IF NOT EXISTS aged_positions (
    position_key     text PRIMARY KEY,
    symbol           text NOT NULL,
    episode          bigint NOT NULL,
    side             text NOT NULL,
    entry_price      numeric NOT NULL,
    phase            text NOT NULL,
    detected_at      timestamptz,
    grace_at         timestamptz,
    progressive_at   timestamptz,
    emergency_at     timestamptz,
    closing_at       timestamptz,
    closed_at        timestamptz,
    error_at         timestamptz,
    target_price     numeric,
    breakeven_price  numeric NOT NULL,
    loss_tolerance   numeric NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    close_price      numeric,
    close_order_id   text,
    realized_pnl_pct numeric,
    close_reason     text,
    updated_ms       bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS aged_positions_phase ON aged_positions (phase);

-- Every move of an aged position, with the targets of the moment.
CREATE TABLE IF NOT EXISTS aged_positions_history (
    position_key    text NOT NULL,
    symbol          text NOT NULL,
    from_phase      text,
    to_phase        text NOT NULL,
    at_ms           bigint NOT NULL,
    at              timestamptz NOT NULL,
    reason          text NOT NULL,
    target_price    numeric,
    breakeven_price numeric NOT NULL,
    loss_tolerance  numeric NOT NULL,
    attempts        integer NOT NULL,
    PRIMARY KEY (position_key, to_phase, at_ms)
);

-- A symbol with open positions and no fresh price (each worsening once), and the emergency
-- action when the silence lasted past its threshold (``emergency_action`` set).
CREATE TABLE IF NOT EXISTS stale_price_alerts (
    symbol             text NOT NULL,
    at_ms              bigint NOT NULL,
    at                 timestamptz NOT NULL,
    freshness          text NOT NULL,
    age_s              double precision,
    positions_affected text[] NOT NULL,
    emergency_action   text,
    PRIMARY KEY (symbol, at_ms, freshness)
);

-- Stops moved: the trailing stop's activation and the stop to breakeven on our side, and every
-- stop-loss set on the exchange (the safety net).
CREATE TABLE IF NOT EXISTS protection_stops (
    position_key text NOT NULL,
    symbol       text NOT NULL,
    where_held   text NOT NULL,
    rule         text NOT NULL,
    previous     numeric,
    stop_price   numeric NOT NULL,
    reason       text NOT NULL,
    command_id   text,
    at_ms        bigint NOT NULL,
    PRIMARY KEY (position_key, where_held, rule, stop_price, at_ms)
);
