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


def source_topics(*specs: TopicSpec) -> Any:
    """Return one Faust channel over several existing topics (an agent that reads them all)."""
    return app.topic(
        *(settings.scoped(spec.name) for spec in specs),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


orderbook_raw_topic = _faust_topic(topics.ORDERBOOK_RAW)
trades_raw_topic = _faust_topic(topics.TRADES_RAW)
book_top_topic = _faust_topic(topics.BOOK_TOP)
features_topic = _faust_topic(topics.FEATURES)
candles_topic = _faust_topic(topics.CANDLES)
book_status_topic = _faust_topic(topics.BOOK_STATUS)
ORDERBOOK_RAW_NAME = settings.scoped(topics.ORDERBOOK_RAW.name)
TRADES_RAW_NAME = settings.scoped(topics.TRADES_RAW.name)
BOOK_TOP_NAME = settings.scoped(topics.BOOK_TOP.name)
FEATURES_NAME = settings.scoped(topics.FEATURES.name)
CONTROL_NAME = settings.scoped(topics.OPS_CONTROL.name)
control_topic = _faust_topic(topics.OPS_CONTROL)
