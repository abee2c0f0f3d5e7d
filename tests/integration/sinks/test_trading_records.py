"""Risk decisions, order events and position changes land in the real PostgreSQL exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from tradestream.config.settings import Settings
from tradestream.schemas.account import PositionChanged
from tradestream.schemas.orders import OrderAccepted, OrderFilled, OrderType, Side, TimeInForce
from tradestream.schemas.trading import RiskDecision, TradingState
from tradestream.sinks.postgres import connect, schema_name
from tradestream.sinks.trading_records import TradingRecord, TradingRecords

LINK = "manual-BTCUSDT-abc"


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await connect(settings)
    yield pool
    await pool.execute(f'DROP SCHEMA "{schema_name(settings)}" CASCADE')
    await pool.close()


def session() -> list[TradingRecord]:
    """One approved signal, its order's acceptance and fill, and the position it opened."""
    fill = {"exec_qty": Decimal("0.002"), "exec_price": Decimal("65114.3")}
    return [
        RiskDecision(
            decision_id="d-sig-1", signal_id="sig-1", strategy="manual", symbol="BTCUSDT",
            side=Side.BUY, approved=True, qty=Decimal("0.002"), order_link_id=LINK,
            rule="approved", reason="within every limit", trading_state=TradingState.ACTIVE,
            decided_ts_ms=1_000,
        ),
        RiskDecision(
            decision_id="d-sig-2", signal_id="sig-2", strategy="manual", symbol="ETHUSDT",
            side=Side.BUY, approved=False, rule="max_open_positions", reason="1 open, limit 1",
            trading_state=TradingState.ACTIVE, decided_ts_ms=1_001,
        ),
        OrderAccepted(
            order_link_id=LINK, symbol="BTCUSDT", occurred_at_ms=1_010, order_id="x1",
            side=Side.BUY, order_type=OrderType.MARKET, qty=Decimal("0.002"),
            time_in_force=TimeInForce.IOC,
        ),
        OrderFilled(
            order_link_id=LINK, symbol="BTCUSDT", occurred_at_ms=1_011, exec_id="e-1",
            side=Side.BUY, exec_fee=Decimal("0.0716"), is_maker=False, cum_qty=Decimal("0.002"),
            avg_price=Decimal("65114.3"), leaves_qty=Decimal(0), **fill,
        ),
        PositionChanged(
            symbol="BTCUSDT", size=Decimal("0.002"), entry_price=Decimal("65114.3"),
            mark_price=Decimal("65114.3"), fees_paid=Decimal("0.0716"), opened_ts_ms=1_011,
            updated_ts_ms=1_011, cause="e-1",
        ),
    ]  # fmt: skip


async def test_a_session_lands_once_however_often_it_is_delivered(pool: asyncpg.Pool) -> None:
    records = TradingRecords(pool, actor="trading-records")
    await records.land(session())
    await records.land(session())  # at-least-once: the whole batch again
    await records.land(list(reversed(session())))  # and out of order

    order = await pool.fetchrow("SELECT * FROM orders WHERE order_link_id = $1", LINK)
    assert order is not None
    assert (order["status"], order["cum_qty"], order["avg_price"]) == (
        "filled", Decimal("0.002"), Decimal("65114.3"),
    )  # fmt: skip
    assert (order["signal_id"], order["side"], order["qty"]) == ("sig-1", "Buy", Decimal("0.002"))
    counts = {
        table: await pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - our names
        for table in ("risk_decisions", "order_events", "executions", "positions", "audit_log")
    }
    assert counts == {
        "risk_decisions": 2, "order_events": 2, "executions": 1, "positions": 1, "audit_log": 4,
    }  # fmt: skip
    refused = await pool.fetchrow("SELECT * FROM risk_decisions WHERE signal_id = 'sig-2'")
    assert refused is not None
    assert (refused["approved"], refused["rule"]) == (False, "max_open_positions")
    position = await pool.fetchrow("SELECT * FROM positions WHERE symbol = 'BTCUSDT'")
    assert position is not None
    assert (position["size"], position["fees_paid"]) == (Decimal("0.002"), Decimal("0.0716"))
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY at_ms")]
    assert actions == [
        "risk.approved", "risk.refused.max_open_positions", "order.order_accepted",
        "order.order_filled",
    ]  # fmt: skip
