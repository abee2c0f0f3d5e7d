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
control_topic = _faust_topic(topics.OPS_CONTROL)
