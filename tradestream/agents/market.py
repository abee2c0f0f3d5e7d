"""The market agent: keep each symbol's book and features from raw frames and publish them."""

from __future__ import annotations

from typing import Any

from tradestream.agents.boundary import dead_letter_on_error
from tradestream.agents.channels import (
    TRADES_RAW_NAME,
    book_top_topic,
    control_topic,
    features_topic,
    market_raw_topics,
)
from tradestream.agents.events import recv_ts_ms
from tradestream.agents.resources import dead_letter_queue
from tradestream.app import app, settings
from tradestream.core.clock import now_ms
from tradestream.core.market import BookUpdate, MarketBooks, MarketConfig
from tradestream.schemas.market import book_top_encoder
from tradestream.tables.books import book_status_by_symbol
from tradestream.web import metrics

books = MarketBooks(
    clock=now_ms, config=MarketConfig(features_interval_ms=settings.features_interval_ms)
)
_checkpointed_at: dict[str, tuple[int, str]] = {}
_encode = book_top_encoder.encode


@app.agent(market_raw_topics)
async def track_market(frames: Any) -> None:
    """Keep each symbol's book and features current and publish what changed."""
    async for event in frames.events():
        raw: bytes = event.value
        topic = event.message.topic
        async with dead_letter_on_error(dead_letter_queue(), raw, source=topic):
            if topic == TRADES_RAW_NAME:
                trades = books.apply_trades(raw, recv_ts_ms(event))
                if trades is not None and trades.features is not None:
                    await features_topic.send(key=event.key, value=_encode(trades.features))
            else:
                await on_book_update(books.apply(raw, recv_ts_ms(event)))


async def on_book_update(update: BookUpdate) -> None:
    """Publish a changed top of book and features, request a resync, checkpoint the table."""
    metrics.book_frames.labels(outcome=update.outcome.value).inc()
    key = update.symbol.encode()
    if update.book_top is not None:
        top = update.book_top
        metrics.book_latency.observe(max(top.produced_ts_ms - top.recv_ts_ms, 0) / 1000)
        await book_top_topic.send(key=key, value=_encode(top))
    if update.features is not None:
        await features_topic.send(key=key, value=_encode(update.features))
    if update.resync is not None:
        metrics.resyncs_requested.labels(symbol=update.symbol, reason=update.resync.reason).inc()
        await control_topic.send(key=key, value=_encode(update.resync))
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
