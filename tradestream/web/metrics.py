"""Prometheus metrics of a worker, served at ``/metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry(auto_describe=True)

book_frames = Counter(
    "tradestream_book_frames_total",
    "Order-book frames processed, by outcome (applied, duplicate, gap, crossed...).",
    ["outcome"],
    registry=registry,
)
book_valid = Gauge(
    "tradestream_book_valid",
    "1 while the symbol's book is valid, 0 otherwise.",
    ["symbol"],
    registry=registry,
)
resyncs_requested = Counter(
    "tradestream_resyncs_requested_total",
    "Resync requests sent to ingest after a book became unusable.",
    ["symbol", "reason"],
    registry=registry,
)
dead_letters = Counter(
    "tradestream_dead_letters_total",
    "Events sent to the dead-letter queue, by source.",
    ["source"],
    registry=registry,
)
sink_rows = Counter(
    "tradestream_sink_rows_total",
    "Rows written by the sinks, by table.",
    ["table"],
    registry=registry,
)
sink_retries = Counter(
    "tradestream_sink_retries_total",
    "Failed sink writes that were retried, by table.",
    ["table"],
    registry=registry,
)
retried_events = Counter(
    "tradestream_retried_events_total",
    "Failed attempts at an event that waits and is retried because a service it needs (Redis) "
    "is unreachable, by source (exec.orders, dead_letters).",
    ["source"],
    registry=registry,
)
candle_late_trades = Counter(
    "tradestream_candle_late_trades_total",
    "Trades that reached the market engine's bar builder after their bar had closed (counted, "
    "never added: a published bar is final), by interval (md.candles label: 1s, 5s, 1 = 1 min).",
    ["interval"],
    registry=registry,
)
candle_bars_closed_by_clock = Counter(
    "tradestream_candle_bars_closed_by_clock_total",
    "Trade-built bars closed by the book frames' exchange time passing their end plus the close "
    "grace, without a trade of a later bar, by interval (md.candles label).",
    ["interval"],
    registry=registry,
)
book_latency = Histogram(
    "tradestream_book_latency_seconds",
    "Ingest receive time to book-top produced.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
    registry=registry,
)

ingest_frames = Counter(
    "tradestream_ingest_frames_total",
    "Frames received from the exchange and produced to Kafka, by raw topic.",
    ["topic"],
    registry=registry,
)
ingest_overflow = Counter(
    "tradestream_ingest_overflow_total",
    "Frames dropped because the ingest buffer was full (drop_and_resync policy), by symbol.",
    ["symbol"],
    registry=registry,
)
ingest_blocked_seconds = Counter(
    "tradestream_ingest_blocked_seconds_total",
    "Seconds socket readers waited on a full ingest buffer (block policy).",
    registry=registry,
)
ingest_produce_retries = Counter(
    "tradestream_ingest_produce_retries_total",
    "Frames whose Kafka delivery failed and were sent again.",
    registry=registry,
)
ingest_buffer_depth = Gauge(
    "tradestream_ingest_buffer_depth",
    "Frames waiting between the sockets and the Kafka producer.",
    registry=registry,
)
ingest_staleness = Gauge(
    "tradestream_ingest_staleness_seconds",
    "Seconds since the last frame of a symbol's stream.",
    ["symbol", "kind"],
    registry=registry,
)
ingest_connects = Counter(
    "tradestream_ingest_connects_total",
    "WebSocket connections opened (first connects and reconnects), by connection.",
    ["connection"],
    registry=registry,
)
ingest_resubscribes = Counter(
    "tradestream_ingest_resubscribes_total",
    "Symbols resubscribed on a resync request.",
    ["symbol"],
    registry=registry,
)

protection_positions = Gauge(
    "tradestream_protection_positions",
    "Open positions this worker protects, by rule in force (stop_loss, take_profit, "
    "trailing_stop, aged_position, time_stop, exchange_stop).",
    ["rule"],
    registry=registry,
)
protection_trailing_activations = Counter(
    "tradestream_protection_trailing_activations_total",
    "Trailing stops that activated, by symbol.",
    ["symbol"],
    registry=registry,
)
protection_closes = Counter(
    "tradestream_protection_closes_total",
    "Close attempts sent by protection, by rule and aged phase ('none' for a position not aged).",
    ["rule", "phase"],
    registry=registry,
)
protection_close_results = Counter(
    "tradestream_protection_close_results_total",
    "How protection's closes ended (filled, rejected, cancelled, expired, timeout), by rule.",
    ["rule", "result"],
    registry=registry,
)
protection_cannot_close = Counter(
    "tradestream_protection_cannot_close_total",
    "Positions protection could not close after every retry (critical), by symbol.",
    ["symbol"],
    registry=registry,
)
protection_suppressed = Counter(
    "tradestream_protection_suppressed_total",
    "Closes that fired and were not sent (conflicts resolved and other holds), by rule and "
    "reason; a suppression repeated on every evaluation counts once a minute.",
    ["rule", "reason"],
    registry=registry,
)
protection_aged_positions = Gauge(
    "tradestream_protection_aged_positions",
    "Aged positions being wound down on this worker, by phase.",
    ["phase"],
    registry=registry,
)
protection_stale_alerts = Counter(
    "tradestream_protection_stale_alerts_total",
    "Stale-price alerts for symbols with open positions, by symbol and freshness "
    "('emergency' when the emergency action was due).",
    ["symbol", "freshness"],
    registry=registry,
)
protection_exchange_stops = Counter(
    "tradestream_protection_exchange_stops_total",
    "Exchange-side stop-losses set or moved, by symbol.",
    ["symbol"],
    registry=registry,
)
protection_decision_latency = Histogram(
    "tradestream_protection_decision_latency_seconds",
    "Exchange time of the price update that fired a close to the close command produced.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=registry,
)

signals_published = Counter(
    "tradestream_signals_published_total",
    "Strategy signals published on sig.signals, by strategy.",
    ["strategy"],
    registry=registry,
)
signals_suppressed = Counter(
    "tradestream_signals_suppressed_total",
    "Strategy signals held back because the symbol's book could not back them, by reason "
    "(no_book, book_invalid, book_stale).",
    ["strategy", "reason"],
    registry=registry,
)
strategy_failures = Counter(
    "tradestream_strategy_failures_total",
    "Events on which a strategy raised (isolated: the other strategies went on), by strategy.",
    ["strategy"],
    registry=registry,
)
signal_inputs_skipped = Counter(
    "tradestream_signal_inputs_skipped_total",
    "Bars and feature vectors the signal agent fed to no strategy, by reason (trades_bar, "
    "no_strategy, old_bar, no_scalper, unknown_feature_schema, scalper_features_missing).",
    ["reason"],
    registry=registry,
)
strategy_warm_ups = Counter(
    "tradestream_strategy_warm_ups_total",
    "Per-symbol history fetches before the first live bar, by outcome (warm, cold).",
    ["outcome"],
    registry=registry,
)
