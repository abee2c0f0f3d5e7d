"""The market role of a worker: the market engine service and the book status table's agent.

``register`` adds them to the app only when the worker runs the market role
(``Settings.roles``); the books object exists either way so the web views can always answer.
"""

from __future__ import annotations

import threading
from typing import Any

import msgspec

from tradestream.agents.channels import book_status_topic
from tradestream.agents.market import MarketBatches
from tradestream.agents.market_engine import MarketEngine, market_consumer
from tradestream.agents.resources import dead_letter_queue
from tradestream.app import app, settings
from tradestream.core.clock import now_ms, now_us
from tradestream.core.market import MarketBooks, MarketConfig
from tradestream.streams import topics
from tradestream.streams.rdkafka import Outputs
from tradestream.tables.books import book_status_by_symbol

books = MarketBooks(
    clock=now_ms,
    config=MarketConfig(
        features_interval_ms=settings.features_interval_ms,
        stale_after_ms=settings.book_stale_after_ms,
        candle_intervals_s=settings.candle_intervals_s,
        candle_close_grace_ms=settings.candle_close_grace_ms,
    ),
)
_decode_status = msgspec.json.decode


books_lock = threading.Lock()
"""Held by the market engine's thread while it changes the books; the web views take it to read."""


async def run_market_engine() -> None:
    """Start the market engine as a runtime dependency of the app (stopped with it)."""
    outputs = Outputs.connect(settings)
    engine = MarketEngine(
        settings,
        consumer=market_consumer(settings),
        outputs=outputs,
        batches=MarketBatches(books, outputs, settings, now_ms, now_us),
        dlq=dead_letter_queue(),
        books_lock=books_lock,
        topics=[settings.scoped(spec.name) for spec in topics.MARKET_INPUTS],
        threaded=set(settings.roles) == {"market"},  # alone, its own thread is cheaper
    )
    await app.add_runtime_dependency(engine)


async def record_book_status(records: Any) -> None:
    """Keep ``book_status_by_symbol`` from the engine's ``md.book.status`` records."""
    async for key, value in records.items():
        book_status_by_symbol[key.decode()] = _decode_status(value)


def register() -> None:
    """Add the market role to the app."""
    app.task(run_market_engine)
    app.agent(book_status_topic, name="record_book_status")(record_book_status)
