"""Sink agents: land trades, book tops, features, candles and signals in ClickHouse in batches.

They consume in the Faust app's group (``Settings.group_id``) and are registered by ``register``
when the worker runs the ``sinks`` role, alone or beside the market engine.

A batch is written before its events are acknowledged; a failed write is retried with back-off
for as long as it takes (the partition waits, nothing is lost), except when ClickHouse rejects the
data itself: then the batch's events go to the dead-letter queue with the server's reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from clickhouse_driver import errors as ch_errors

from tradestream.agents.boundary import dead_letter_on_error
from tradestream.agents.channels import (
    book_top_topic,
    candles_topic,
    features_topic,
    source_topics,
    trades_raw_topic,
)
from tradestream.agents.events import recv_ts_ms
from tradestream.agents.resources import clickhouse, dead_letter_queue
from tradestream.app import app, settings
from tradestream.core.clock import now_ms
from tradestream.sinks.dead_letters import DeadLetter
from tradestream.sinks.rows import (
    Row,
    book_top_row,
    candle_row,
    features_row,
    signal_row,
    trade_rows,
)
from tradestream.streams import topics
from tradestream.web import metrics

log = logging.getLogger(__name__)

_RETRYABLE = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, EOFError, OSError)
Writer = Callable[[Sequence[Row]], Awaitable[None]]


async def land_trades(frames: Any) -> None:
    """Write every recorded trade to ``trades``."""
    async for events in frames.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        rows: list[Row] = []
        for event in events:
            async with dead_letter_on_error(dead_letter_queue(), event.value, "md.trades.raw"):
                rows.extend(trade_rows(event.value, recv_ts_ms(event), now_ms()))
        await write_batch("trades", clickhouse().insert_trades, rows, events)


async def land_book_tops(records: Any) -> None:
    """Write every top-of-book record to ``book_top``."""
    async for events in records.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        rows: list[Row] = []
        for event in events:
            async with dead_letter_on_error(dead_letter_queue(), event.value, "md.book.top"):
                rows.append(book_top_row(event.value))
        await write_batch("book_top", clickhouse().insert_book_tops, rows, events)


async def land_features(records: Any) -> None:
    """Write every feature record to ``features``."""
    async for events in records.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        rows: list[Row] = []
        for event in events:
            async with dead_letter_on_error(dead_letter_queue(), event.value, "md.features"):
                rows.append(features_row(event.value))
        await write_batch("features", clickhouse().insert_features, rows, events)


async def land_candles(records: Any) -> None:
    """Write every closed bar to ``candles`` (the roll-up views follow in ClickHouse)."""
    async for events in records.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        rows: list[Row] = []
        for event in events:
            async with dead_letter_on_error(dead_letter_queue(), event.value, "md.candles"):
                rows.append(candle_row(event.value))
        await write_batch("candles", clickhouse().insert_candles, rows, events)


async def land_signals(records: Any) -> None:
    """Write every strategy signal to ``signals`` (once per signal id, read with FINAL)."""
    async for events in records.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        rows: list[Row] = []
        for event in events:
            async with dead_letter_on_error(dead_letter_queue(), event.value, "sig.signals"):
                rows.append(signal_row(event.value, now_ms()))
        await write_batch("signals", clickhouse().insert_signals, rows, events)


def register() -> None:
    """Add the sink agents to the app (the ``sinks`` role, with or without the market one)."""
    app.agent(trades_raw_topic, name="land_trades")(land_trades)
    app.agent(book_top_topic, name="land_book_tops")(land_book_tops)
    app.agent(features_topic, name="land_features")(land_features)
    app.agent(candles_topic, name="land_candles")(land_candles)
    app.agent(source_topics(topics.SIGNALS), name="land_signals")(land_signals)


async def write_batch(table: str, write: Writer, rows: list[Row], events: Sequence[Any]) -> None:
    """Write ``rows``, retrying transient failures; dead-letter the batch if the data is refused."""
    delay = 0.2
    while True:
        try:
            await write(rows)
        except _RETRYABLE as exc:
            metrics.sink_retries.labels(table=table).inc()
            log.warning("ClickHouse %s write failed (%s); retrying in %.1fs", table, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        except ch_errors.Error as exc:
            await _dead_letter_batch(table, events, f"ClickHouse refused the batch: {exc}")
            return
        metrics.sink_rows.labels(table=table).inc(len(rows))
        return


async def _dead_letter_batch(table: str, events: Sequence[Any], reason: str) -> None:
    dlq = dead_letter_queue()
    for event in events:
        await dlq.send(DeadLetter(event.value, f"sink.{table}", reason, now_ms()))
    metrics.dead_letters.labels(source=f"sink.{table}").inc(len(events))
