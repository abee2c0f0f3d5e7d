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
