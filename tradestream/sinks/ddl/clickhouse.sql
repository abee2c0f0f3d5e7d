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
