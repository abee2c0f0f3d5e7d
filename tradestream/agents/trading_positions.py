"""The positions agent: executions into positions, open orders, and reconciliation.

``track_positions`` reads ``exec.reports``, ``exec.reconcile`` and ``exec.orders``
(co-partitioned, keyed by symbol) and is the only writer of ``positions_by_symbol``: per symbol,
the position it computed (``core.portfolio``), the execution ids it applied (an execution
redelivered after a restart is applied once) and the time of the newest one (a snapshot taken
before it is not compared with the position), the orders the exchange reported open, a position
difference waiting for its second look, and the opening signals' levels
(``core.portfolio.entry_levels``): the stop, take-profit and ATR a ``PlaceOrder`` carries go onto
the position its fills open or add to. Each ``ExchangeSnapshot`` is compared with those by
``core.portfolio.reconciliation``: corrections go to ``account.events`` (audited), questions
about vanished orders to ``exec.orders`` as ``QueryOrder`` (the execution agent asks the
exchange and reports its answer).
Every position change goes to ``account.events`` (the risk agent's one partition) and to
``exec.positions`` (keyed by symbol, co-partitioned: the protection agent's source).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tradestream.agents.boundary import dead_letter_on_error
from tradestream.agents.channels import source_topics
from tradestream.agents.resources import dead_letter_queue
from tradestream.agents.trading_desk import (
    ORDER_ENDS,
    account_topic,
    exec_orders_topic,
    positions,
    send_json,
)
from tradestream.agents.trading_records import record_trading, records_channel
from tradestream.app import app, settings
from tradestream.core.orders.client_id import order_link_id_for
from tradestream.core.portfolio.entry_levels import EntryLevels, Levels
from tradestream.core.portfolio.reconciliation import KnownOrder, Mismatch, reconcile, track_order
from tradestream.schemas.account import Execution, PositionChanged, PositionState
from tradestream.schemas.orders import (
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    PlaceOrder,
    QueryOrder,
    order_command_adapter,
    order_event_adapter,
)
from tradestream.schemas.reconciliation import ExchangeSnapshot
from tradestream.streams import topics
from tradestream.tables.trading import positions_by_symbol

positions_channel = source_topics(topics.EXEC_REPORTS, topics.EXEC_RECONCILE, topics.EXEC_ORDERS)
positions_topic = source_topics(topics.POSITIONS)
RECONCILE_NAME = settings.scoped(topics.EXEC_RECONCILE.name)
ORDERS_NAME = settings.scoped(topics.EXEC_ORDERS.name)
_EXEC_ID_MEMORY = 10_000


async def track_positions(reports: Any) -> None:
    """Apply each execution once to its symbol's position; tell risk what changed.

    Also keep the symbol's open orders, and compare both with each exchange snapshot.
    """
    async for event in reports.events():
        async with dead_letter_on_error(dead_letter_queue(), event.value, event.message.topic):
            if event.message.topic == RECONCILE_NAME:
                await _reconcile(ExchangeSnapshot.model_validate_json(event.value))
                continue
            if event.message.topic == ORDERS_NAME:
                await _remember_levels(event.value)
                continue
            report = order_event_adapter.validate_json(event.value)
            if report.kind in ORDER_ENDS:
                await send_json(account_topic, report.symbol, report)  # risk releases it
            _track_order(report)
            if isinstance(report, OrderPartiallyFilled | OrderFilled):
                await _apply_execution(Execution.from_fill(report))


def _track_order(report: OrderEvent) -> None:
    stored = positions_by_symbol[report.symbol]
    known = _known_orders(stored)
    ended: dict[str, int] = dict(stored.get("ended", {}))
    if track_order(known, report, ended):
        positions_by_symbol[report.symbol] = {
            **stored, "orders": _orders_json(known), "ended": ended,
        }  # fmt: skip


def _known_orders(stored: dict[str, Any]) -> dict[str, KnownOrder]:
    return {k: KnownOrder.from_json(v) for k, v in stored.get("orders", {}).items()}


def _orders_json(known: dict[str, KnownOrder]) -> dict[str, Any]:
    return {link_id: order.to_json() for link_id, order in known.items()}


def _position_of(symbol: str, stored: dict[str, Any]) -> PositionState:
    # The table is the truth: this worker's memory of a symbol may be older than the table (the
    # partition was away and came back); the newer of the two wins.
    portfolio = positions()
    if "position" in stored:
        portfolio.apply_position(PositionState.model_validate(stored["position"]))
    return portfolio.position(symbol)


async def _apply_execution(execution: Execution) -> None:
    stored = positions_by_symbol[execution.symbol]
    applied: list[str] = stored.get("exec_ids", [])
    if execution.exec_id in applied:
        return  # applied before a restart: the table remembers it
    before = _position_of(execution.symbol, stored).size
    result = positions().apply_execution(execution)
    change = result.change
    if change is None:
        return
    entries = EntryLevels.from_json(stored.get("levels"))
    levels = entries.filled(execution.order_link_id, before, change.size)
    if levels is not None:
        exec_ts, exec_id = execution.exec_ts_ms, execution.exec_id
        change = _with_levels(execution.symbol, levels, exec_ts, exec_id) or change
    positions_by_symbol[execution.symbol] = {
        **stored,
        "position": change.model_dump(mode="json", exclude={"kind", "cause"}),
        "exec_ids": [*applied, execution.exec_id][-_EXEC_ID_MEMORY:],
        "filled_at_ms": max(stored.get("filled_at_ms", 0), execution.exec_ts_ms),
        "levels": entries.to_json(),
    }
    await send_json(account_topic, execution.symbol, change)
    await send_json(positions_topic, execution.symbol, change)  # for protection


async def _remember_levels(raw: bytes) -> None:
    # Only an order that opens with a stop or a take-profit matters here; a command the
    # execution agent cannot read is its to dead-letter, not ours.
    try:
        command = order_command_adapter.validate_json(raw)
    except ValidationError:
        return
    levels = Levels.of(command) if isinstance(command, PlaceOrder) else None
    if levels is None or not isinstance(command, PlaceOrder):
        return
    symbol = command.symbol
    stored = positions_by_symbol[symbol]
    entries = EntryLevels.from_json(stored.get("levels"))
    late = entries.placed(order_link_id_for(command), levels)  # its fill came first
    updated = {**stored, "levels": entries.to_json()}
    change = None
    if late is not None:
        position = _position_of(symbol, stored)
        change = _with_levels(symbol, late, position.updated_ts_ms, f"levels-{command.command_id}")
    if change is not None:
        updated["position"] = change.model_dump(mode="json", exclude={"kind", "cause"})
    positions_by_symbol[symbol] = updated
    if change is not None:
        await send_json(account_topic, symbol, change)
        await send_json(positions_topic, symbol, change)


def _with_levels(symbol: str, levels: Levels, ts_ms: int, cause: str) -> PositionChanged | None:
    return positions().set_levels(
        symbol, levels.stop_loss, levels.take_profit, ts_ms=ts_ms, cause=cause[:64], atr=levels.atr
    )


async def _reconcile(snapshot: ExchangeSnapshot) -> None:
    symbol = snapshot.symbol
    stored = positions_by_symbol[symbol]
    known = _known_orders(stored)
    pending = stored.get("mismatch")
    outcome = reconcile(
        snapshot,
        _position_of(symbol, stored),
        known,
        None if pending is None else Mismatch.from_json(pending),
        confirm_after_ms=int(settings.reconcile_interval_s * 500),
        last_fill_ms=stored.get("filled_at_ms", 0),
        ended=stored.get("ended", {}),
    )
    updated = {**stored, "orders": _orders_json(known | outcome.adopted)}
    updated["mismatch"] = None if outcome.mismatch is None else outcome.mismatch.to_json()
    if outcome.position is not None:
        positions().apply_position(outcome.position)
        updated["position"] = outcome.position.model_dump(mode="json")
    if updated != stored:
        positions_by_symbol[symbol] = updated
    for correction in outcome.corrections:
        await send_json(account_topic, symbol, correction)
    if outcome.position is not None:
        change = PositionChanged.model_validate(
            {**outcome.position.model_dump(), "cause": f"reconcile-{snapshot.taken_at_ms}"}
        )
        await send_json(account_topic, symbol, change)
        await send_json(positions_topic, symbol, change)
    for link_id in outcome.queries:
        await send_json(exec_orders_topic, symbol, _query(snapshot, link_id))


def _query(snapshot: ExchangeSnapshot, link_id: str) -> QueryOrder:
    return QueryOrder(
        command_id=f"reconcile-{snapshot.taken_at_ms}-{link_id}"[:64],
        symbol=snapshot.symbol,
        order_link_id=link_id,
        reason="open in our tables, not at the exchange: ask what became of it",
        issued_at_ms=snapshot.taken_at_ms,
    )


def register() -> None:
    """Add the positions part: the positions agent and the PostgreSQL records sink."""
    app.agent(positions_channel, name="track_positions")(track_positions)
    app.agent(records_channel, name="record_trading")(record_trading)
