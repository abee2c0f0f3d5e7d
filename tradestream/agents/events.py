"""Read what agents need from a Faust event's Kafka message."""

from __future__ import annotations

from typing import Any

from tradestream.streams.producer import RECV_TS_HEADER


def recv_ts_ms(event: Any) -> int:
    """Return the ingest receive time of an event, or its Kafka timestamp if it has none."""
    for name, value in event.message.headers or ():
        if name == RECV_TS_HEADER:
            return int(value)
    return int(event.message.timestamp * 1000)
