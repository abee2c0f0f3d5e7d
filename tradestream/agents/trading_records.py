"""The trading-records sink: land decisions, orders, positions and trading states in PostgreSQL.

It reads ``risk.decisions``, ``exec.reports``, ``account.events`` and ``protection.events`` in
batches and writes each batch in one transaction (``sinks/trading_records.py``) before the batch
is acknowledged. While PostgreSQL is unreachable it retries with back-off for as long as it
takes: the trading agents do not wait for it, the events wait on their topics, and they land
once it is back (upserts on natural keys: none twice). A record that does not validate goes to
the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import cache
from typing import Any

import asyncpg
from pydantic import ValidationError

from tradestream.agents.batches import AckedBatches
from tradestream.agents.boundary import dead_letter_for, keep_dead_letter
from tradestream.agents.channels import source_topics
from tradestream.agents.resources import dead_letter_queue
from tradestream.agents.stall_watch import busy
from tradestream.app import settings
from tradestream.schemas.account import PositionChanged
from tradestream.schemas.orders import order_event_adapter
from tradestream.schemas.protection import protection_record_adapter
from tradestream.schemas.reconciliation import ReconciliationCorrected
from tradestream.schemas.trading import RiskDecision, trading_state_event_adapter
from tradestream.sinks.postgres import connect
from tradestream.sinks.trading_records import TradingRecord, TradingRecords
from tradestream.streams import topics

log = logging.getLogger(__name__)

records_channel = source_topics(
    topics.RISK_DECISIONS, topics.EXEC_REPORTS, topics.ACCOUNT_EVENTS, topics.PROTECTION_EVENTS
)
_DECISIONS = settings.scoped(topics.RISK_DECISIONS.name)
_REPORTS = settings.scoped(topics.EXEC_REPORTS.name)
_PROTECTION = settings.scoped(topics.PROTECTION_EVENTS.name)
_TRADING_STATE_KINDS = (b'"kind":"kill_switch_tripped"', b'"kind":"kill_switch_reset"',
                        b'"kind":"trading_state_changed"')  # fmt: skip
_RETRYABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, TimeoutError)


class _Records:
    """The PostgreSQL writer, connected on first use and again after a lost connection."""

    def __init__(self) -> None:
        self._store: TradingRecords | None = None

    async def land(self, records: list[TradingRecord]) -> None:
        delay = 0.2
        while True:
            try:
                if self._store is None:
                    self._store = TradingRecords(await connect(settings), actor="trading-records")
                await self._store.land(records)
                return
            except _RETRYABLE as exc:
                log.warning("PostgreSQL write failed (%s); retrying in %.1fs", exc, delay)
                self._store = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


@cache
def _records() -> _Records:
    return _Records()


_PARSERS: dict[str, Callable[[bytes], TradingRecord]] = {
    _DECISIONS: RiskDecision.model_validate_json,
    _REPORTS: order_event_adapter.validate_json,
    _PROTECTION: protection_record_adapter.validate_json,
}


def parse_record(topic: str, raw: bytes) -> TradingRecord | None:
    """Return the record to land from one event, or None if this topic's event is not one."""
    parse = _PARSERS.get(topic)
    if parse is not None:
        return parse(raw)
    if b'"kind":"position_changed"' in raw:
        return PositionChanged.model_validate_json(raw)
    if b'"kind":"reconciliation_corrected"' in raw:
        return ReconciliationCorrected.model_validate_json(raw)
    if any(kind in raw for kind in _TRADING_STATE_KINDS):
        return trading_state_event_adapter.validate_json(raw)
    return None  # account.events also carries order ends: risk's, not records


async def record_trading(events: Any) -> None:
    """Land each batch of trading events in PostgreSQL before acknowledging it.

    Batches and acknowledgements are ours (``agents/batches.py``), not ``take_events``'s, which
    left an event unacknowledged until the stall watch restarted the worker.
    """
    stream = events.noack()
    batches = AckedBatches(_land_busy, stream.ack, settings.sink_batch_size)
    batches.start()
    try:
        async for event in stream.events():
            await batches.add(event)
    finally:
        await batches.stop()


async def _land_busy(batch: list[Any]) -> None:
    async with busy():  # waiting for PostgreSQL or Redis is work, not a stall
        await _land(batch)


async def _land(batch: list[Any]) -> None:
    records: list[TradingRecord] = []
    for event in batch:
        try:
            record = parse_record(event.message.topic, event.value)
        except ValidationError as exc:
            letter = dead_letter_for(event.value, "trading", exc)
            await keep_dead_letter(dead_letter_queue(), letter)  # waits while Redis is down
            continue
        if record is not None:
            records.append(record)
    if records:
        await _records().land(records)
