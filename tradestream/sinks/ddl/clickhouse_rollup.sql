-- Roll the 1-minute rows of {db}.candles up into {name} bars ({seconds} s, aligned to UTC).
-- Rendered once per roll-up interval (sinks/clickhouse.py: ROLLUPS).
--
-- The materialized view runs on every insert into candles. Re-delivery can insert the same
-- 1-minute bar twice, so the volume, turnover and trade count are not summed at insert time:
-- each bucket keeps the set of its distinct minutes (groupUniqArray of (minute, volume,
-- turnover, trades)), and the view sums that set when read. Open, high, low and close are
-- argMin/max/min/argMax states, which a duplicate cannot change. ClickHouse 18.16 has no
-- arraySum over Decimal, hence arrayReduce('sum', ...).

CREATE TABLE IF NOT EXISTS {db}.candles_{name}_state (
    symbol String,
    source String,
    bucket_ts DateTime,
    bucket_ms UInt64,
    open_state AggregateFunction(argMin, {price_type}, UInt64),
    high_state AggregateFunction(max, {price_type}),
    low_state AggregateFunction(min, {price_type}),
    close_state AggregateFunction(argMax, {price_type}, UInt64),
    minutes AggregateFunction(groupUniqArray, Tuple(UInt64, {amount_type}, {amount_type}, UInt64))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(bucket_ts)
ORDER BY (symbol, source, bucket_ms);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.candles_{name}_mv TO {db}.candles_{name}_state AS
SELECT symbol, source,
       toDateTime(intDiv(open_ts_ms, {seconds}000) * {seconds}) AS bucket_ts,
       intDiv(open_ts_ms, {seconds}000) * {seconds}000 AS bucket_ms,
       argMinState(open, open_ts_ms) AS open_state,
       maxState(high) AS high_state,
       minState(low) AS low_state,
       argMaxState(close, open_ts_ms) AS close_state,
       groupUniqArrayState(tuple(open_ts_ms, volume, turnover, trades)) AS minutes
FROM {db}.candles
WHERE interval_s = 60
GROUP BY symbol, source, bucket_ts, bucket_ms;

CREATE VIEW IF NOT EXISTS {db}.candles_{name} AS
SELECT symbol, source, bucket_ms AS open_ts_ms, bucket_ts AS ts,
       argMinMerge(open_state) AS open,
       maxMerge(high_state) AS high,
       minMerge(low_state) AS low,
       argMaxMerge(close_state) AS close,
       arrayReduce('sum', arrayMap(m -> tupleElement(m, 2), groupUniqArrayMerge(minutes))) AS volume,
       arrayReduce('sum', arrayMap(m -> tupleElement(m, 3), groupUniqArrayMerge(minutes))) AS turnover,
       arrayReduce('sum', arrayMap(m -> tupleElement(m, 4), groupUniqArrayMerge(minutes))) AS trades,
       length(groupUniqArrayMerge(minutes)) AS bars
FROM {db}.candles_{name}_state
GROUP BY symbol, source, bucket_ms, bucket_ts;
