"""Read what agents need from a Faust event's Kafka message."""

from __future__ import annotations

from typing import Any

from tradestream.streams.producer import RECV_TS_HEADER, RECV_TS_US_HEADER


def recv_ts_ms(event: Any) -> int:
    """Return the ingest receive time of an event, or its Kafka timestamp if it has none."""
    for name, value in event.message.headers or ():
        if name == RECV_TS_HEADER:
            return int(value)
    return int(event.message.timestamp * 1000)


def receive_stamps(event: Any) -> tuple[int, bytes | None]:
    """Return the receive time in ms (as ``recv_ts_ms``) and the raw µs stamp, if there is one."""
    ms: int | None = None
    us: bytes | None = None
    for name, value in event.message.headers or ():
        if name == RECV_TS_HEADER:
            ms = int(value)
        elif name == RECV_TS_US_HEADER:
            us = value
    if ms is None:
        ms = int(event.message.timestamp * 1000)
    return ms, us
