"""Faust topic objects for the topic specs of ``streams.topics``, bound to the app."""

from __future__ import annotations

from typing import Any

from tradestream.app import app, settings
from tradestream.streams import topics
from tradestream.streams.topics import TopicSpec


def _faust_topic(spec: TopicSpec) -> Any:
    return app.topic(
        settings.scoped(spec.name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partitions(settings),
        retention=None if spec.retention_ms is None else spec.retention_ms / 1000,
        compacting=spec.compacted,
    )


orderbook_raw_topic = _faust_topic(topics.ORDERBOOK_RAW)
trades_raw_topic = _faust_topic(topics.TRADES_RAW)
book_top_topic = _faust_topic(topics.BOOK_TOP)
features_topic = _faust_topic(topics.FEATURES)
ORDERBOOK_RAW_NAME = settings.scoped(topics.ORDERBOOK_RAW.name)
TRADES_RAW_NAME = settings.scoped(topics.TRADES_RAW.name)
BOOK_TOP_NAME = settings.scoped(topics.BOOK_TOP.name)
FEATURES_NAME = settings.scoped(topics.FEATURES.name)
CONTROL_NAME = settings.scoped(topics.OPS_CONTROL.name)
# One subscription to both raw topics: same key, same partition count, so a partition's books and
# trades reach the same agent instance, in order per topic.
market_raw_topics = app.topic(
    ORDERBOOK_RAW_NAME,
    TRADES_RAW_NAME,
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
control_topic = _faust_topic(topics.OPS_CONTROL)
