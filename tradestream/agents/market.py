"""The market agent: keep each symbol's book and features from raw frames and publish them.

The agent takes its events in batches of whatever has arrived (at most ``market_batch_size``,
waiting at most ``market_batch_ms`` for more), so Faust's per-iteration machinery and the awaits
are paid per batch rather than per frame. Within a batch:

- each event is processed synchronously inside its own error boundary (``dead_letter_for``): a bad
  frame becomes a dead letter and the rest of the batch goes on; a ``HaltError`` stops the worker
  with the batch unacknowledged;
- the records an event yields go to an ``Outbox`` in order and are handed to the producer after
  the batch, straight to ``app.producer`` (no per-record Faust future or sensor): Faust flushes
  that producer before it commits any offset, so an input is never committed before its outputs;
- the events are acknowledged only after the batch's records and dead letters are sent;
- each event is made the stream's current event while it is processed, as in Faust's own
  iteration, so the book status table writes its changelog to that event's partition.

Book tops and features carry headers ``produced_ts_us`` and, if the input had one, ``recv_ts_us``,
so receive → produced latency can be measured below a millisecond.
"""

from __future__ import annotations

from typing import Any

from tradestream.agents.boundary import dead_letter_for, send_dead_letters
from tradestream.agents.channels import (
    BOOK_TOP_NAME,
    CONTROL_NAME,
    FEATURES_NAME,
    TRADES_RAW_NAME,
    market_raw_topics,
)
from tradestream.agents.events import receive_stamps
from tradestream.agents.resources import dead_letter_queue
from tradestream.app import app, settings
from tradestream.core.clock import now_ms, now_us
from tradestream.core.errors import HaltError
from tradestream.core.market import BookUpdate, MarketBooks, MarketConfig
from tradestream.core.order_book import DeltaOutcome
from tradestream.schemas.market import book_top_encoder
from tradestream.sinks.dead_letters import DeadLetter
from tradestream.streams.producer import PRODUCED_TS_US_HEADER, RECV_TS_US_HEADER
from tradestream.tables.books import book_status_by_symbol
from tradestream.web import metrics

books = MarketBooks(
    clock=now_ms, config=MarketConfig(features_interval_ms=settings.features_interval_ms)
)
_checkpointed_at: dict[str, tuple[int, str]] = {}
_encode = book_top_encoder.encode
_frames_by_outcome = {o: metrics.book_frames.labels(outcome=o.value) for o in DeltaOutcome}
Record = tuple[str, bytes, bytes, list[tuple[str, bytes]] | None]


class Outbox:
    """Records of one batch, in the order they were made, until they are handed to Kafka."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, topic: str, key: bytes, value: bytes, recv_us: bytes | None = None) -> None:
        """Queue a record, stamped with its µs produce time (and receive time if known)."""
        headers = [(PRODUCED_TS_US_HEADER, b"%d" % now_us())]
        if recv_us is not None:
            headers.append((RECV_TS_US_HEADER, recv_us))
        self.records.append((topic, key, value, headers))

    async def send(self) -> None:
        """Hand every queued record to the producer (buffered; flushed before any commit)."""
        producer = app.producer
        for topic, key, value, headers in self.records:
            await producer.send(topic, key, value, None, None, headers)
        self.records.clear()


@app.agent(market_raw_topics)
async def track_market(frames: Any) -> None:
    """Keep each symbol's book and features current and publish what changed."""
    outbox = Outbox()
    async for events in frames.noack_take(
        settings.market_batch_size, within=settings.market_batch_ms / 1000
    ):
        failed: list[DeadLetter] = []
        for event in events:
            # As Faust's own iteration does: table writes go to the event's partition.
            frames._set_current_event(event)
            letter = track(event, outbox)
            if letter is not None:
                failed.append(letter)
        frames._set_current_event(None)
        await outbox.send()
        await send_dead_letters(dead_letter_queue(), failed)
        for event in events:
            await frames.ack(event)


def track(event: Any, outbox: Outbox) -> DeadLetter | None:
    """Apply one raw frame and queue what it changed; return a dead letter if it failed."""
    raw: bytes = event.value
    topic: str = event.message.topic
    try:
        recv_ms, recv_us = receive_stamps(event)
        if topic == TRADES_RAW_NAME:
            trades = books.apply_trades(raw, recv_ms)
            if trades is not None and trades.features is not None:
                outbox.add(FEATURES_NAME, event.key, _encode(trades.features), recv_us)
        else:
            on_book_update(books.apply(raw, recv_ms), outbox, recv_us)
    except HaltError:
        raise
    except Exception as exc:
        return dead_letter_for(raw, topic, exc)
    return None


def on_book_update(update: BookUpdate, outbox: Outbox, recv_us: bytes | None = None) -> None:
    """Queue a changed top of book and features, request a resync, checkpoint the table."""
    _frames_by_outcome[update.outcome].inc()
    key = update.symbol.encode()
    if update.book_top is not None:
        top = update.book_top
        metrics.book_latency.observe(max(top.produced_ts_ms - top.recv_ts_ms, 0) / 1000)
        outbox.add(BOOK_TOP_NAME, key, _encode(top), recv_us)
    if update.features is not None:
        outbox.add(FEATURES_NAME, key, _encode(update.features), recv_us)
    if update.resync is not None:
        metrics.resyncs_requested.labels(symbol=update.symbol, reason=update.resync.reason).inc()
        outbox.add(CONTROL_NAME, key, _encode(update.resync))
    _checkpoint(update.symbol)


def _checkpoint(symbol: str) -> None:
    # Write the table on a status change or every interval, not on every frame: each write is a
    # changelog message.
    book = books.book(symbol)
    if book is None:
        return
    now = now_ms()
    last_at, last_status = _checkpointed_at.get(symbol, (0, ""))
    if book.status.value == last_status and now - last_at < settings.book_status_interval_ms:
        return
    _checkpointed_at[symbol] = (now, book.status.value)
    metrics.book_valid.labels(symbol=symbol).set(1 if book.status.value == "valid" else 0)
    record = books.status_record(symbol)
    record["checkpointed_ts_ms"] = now
    book_status_by_symbol[symbol] = record
