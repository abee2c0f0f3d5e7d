-- ClickHouse schema of tradestream. Runs on ClickHouse 18.16 (Debian) and current releases:
-- times are DateTime (seconds, for partitioning) plus UInt64 milliseconds, never DateTime64.
-- ReplacingMergeTree makes re-delivery and replays idempotent; read with FINAL for exact counts.

CREATE DATABASE IF NOT EXISTS {db};

CREATE TABLE IF NOT EXISTS {db}.trades (
    symbol String,
    trade_id String,
    ts DateTime,
    ts_ms UInt64,
    side String,
    price {price_type},
    size {price_type},
    seq UInt64,
    block_trade UInt8,
    rpi UInt8,
    recv_ts_ms UInt64,
    inserted_ts_ms UInt64
) ENGINE = ReplacingMergeTree(inserted_ts_ms)
PARTITION BY toYYYYMMDD(ts)
ORDER BY (symbol, ts_ms, trade_id);

CREATE TABLE IF NOT EXISTS {db}.book_top (
    symbol String,
    status String,
    ts DateTime,
    exchange_ts_ms UInt64,
    cts_ms UInt64,
    u UInt64,
    seq UInt64,
    bid_px {price_type},
    bid_sz {price_type},
    ask_px {price_type},
    ask_sz {price_type},
    recv_ts_ms UInt64,
    produced_ts_ms UInt64
) ENGINE = ReplacingMergeTree(produced_ts_ms)
PARTITION BY toYYYYMMDD(ts)
ORDER BY (symbol, exchange_ts_ms, u);

CREATE TABLE IF NOT EXISTS {db}.features (
    symbol String,
    ts DateTime,
    exchange_ts_ms UInt64,
    names_id String,
    values Array(Float64),
    recv_ts_ms UInt64,
    produced_ts_ms UInt64
) ENGINE = ReplacingMergeTree(produced_ts_ms)
PARTITION BY toYYYYMMDD(ts)
ORDER BY (symbol, exchange_ts_ms);

CREATE TABLE IF NOT EXISTS {db}.feature_schemas (
    names_id String,
    names Array(String),
    created_ts_ms UInt64
) ENGINE = ReplacingMergeTree(created_ts_ms)
ORDER BY names_id;

-- Closed bars from md.candles: source 'trades' (built by the market engine, any interval) or
-- 'exchange' (Bybit's confirmed klines). The 1-minute bars are rolled up to 5m/15m/1h/4h when
-- read, by the views of clickhouse_rollup.sql (candles_<n>).
CREATE TABLE IF NOT EXISTS {db}.candles (
    symbol String,
    interval_s UInt32,
    source String,
    ts DateTime,
    open_ts_ms UInt64,
    open {price_type},
    high {price_type},
    low {price_type},
    close {price_type},
    volume {amount_type},
    turnover {amount_type},
    trades UInt64,
    exchange_ts_ms UInt64,
    produced_ts_ms UInt64
) ENGINE = ReplacingMergeTree(produced_ts_ms)
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, interval_s, source, open_ts_ms);

CREATE VIEW IF NOT EXISTS {db}.candles_1m AS
SELECT symbol, source, open_ts_ms, ts, open, high, low, close, volume, turnover, trades,
       toUInt64(1) AS bars
FROM {db}.candles FINAL
WHERE interval_s = 60;

-- Strategy signals from sig.signals, one row per signal id (a replay lands once; read with
-- FINAL). The indicator values the strategy used are two aligned arrays (ClickHouse 18.16 has
-- no Map): indicators.value[indexOf(indicators.name, 'rsi')] reads one.
CREATE TABLE IF NOT EXISTS {db}.signals (
    signal_id String,
    strategy String,
    symbol String,
    side String,
    strength Float64,
    entry_price Nullable({price_type}),
    stop_loss Nullable({price_type}),
    take_profit Nullable({price_type}),
    reason String,
    indicators Nested(name String, value Float64),
    ts DateTime,
    created_ts_ms UInt64,
    inserted_ts_ms UInt64
) ENGINE = ReplacingMergeTree(inserted_ts_ms)
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, signal_id);
