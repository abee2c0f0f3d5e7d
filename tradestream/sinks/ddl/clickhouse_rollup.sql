-- Roll the 1-minute rows of {db}.candles up into {name} bars ({seconds} s, aligned to UTC).
-- Rendered once per roll-up interval (sinks/clickhouse.py: ROLLUPS).
--
-- A view that aggregates when read, over candles FINAL: a redelivered 1-minute bar is one row
-- after FINAL, so it is never counted twice, and the sums stay exact Decimals. An
-- AggregatingMergeTree fed by a materialized view (groupUniqArray of each minute's volume and
-- turnover, to drop redeliveries) crashed ClickHouse 18.16 in a background merge
-- (ColumnDecimal<Decimal128>::deserializeAndInsertFromArena), so the roll-up is done at read time:
-- a day of 100 symbols is 144,000 one-minute rows.

CREATE VIEW IF NOT EXISTS {db}.candles_{name} AS
SELECT symbol, source, bucket_ms AS open_ts_ms, bucket_ts AS ts,
       o AS open, h AS high, l AS low, c AS close,
       v AS volume, t AS turnover, n AS trades, k AS bars
FROM (
    SELECT symbol, source,
           intDiv(open_ts_ms, {seconds}000) * {seconds}000 AS bucket_ms,
           toDateTime(intDiv(open_ts_ms, {seconds}000) * {seconds}) AS bucket_ts,
           argMin(open, open_ts_ms) AS o,
           max(high) AS h,
           min(low) AS l,
           argMax(close, open_ts_ms) AS c,
           sum(volume) AS v,
           sum(turnover) AS t,
           sum(trades) AS n,
           count() AS k
    FROM {db}.candles FINAL
    WHERE interval_s = 60
    GROUP BY symbol, source, bucket_ms, bucket_ts
);
