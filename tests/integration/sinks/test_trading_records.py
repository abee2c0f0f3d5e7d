"""Risk decisions, order events, positions and trading states land in real PostgreSQL once."""

from __future__ import annotations

import json
from decimal import Decimal

import asyncpg
import pytest

from tradestream.schemas.account import PositionChanged
from tradestream.schemas.orders import OrderAccepted, OrderFilled, OrderType, Side, TimeInForce
from tradestream.schemas.trading import (
    KillSwitchReset,
    KillSwitchTrigger,
    KillSwitchTripped,
    RiskDecision,
    TradingState,
    TradingStateChanged,
)
from tradestream.sinks.trading_records import TradingRecord, TradingRecords

LINK = "manual-BTCUSDT-abc"


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


def halt_episode() -> list[TradingRecord]:
    """A switch to reducing, a manual trip that opens episode 1, and the reset that ends it."""
    return [
        TradingStateChanged(
            episode=0, from_state=TradingState.ACTIVE, to_state=TradingState.REDUCING,
            reason="maintenance at 10:00", actor="alice", changed_ts_ms=2_000,
        ),
        KillSwitchTripped(
            episode=1, from_state=TradingState.REDUCING, to_state=TradingState.HALTED,
            trigger=KillSwitchTrigger.MANUAL, reason="exchange incident", actor="alice",
            changed_ts_ms=3_000,
        ),
        KillSwitchReset(
            episode=1, from_state=TradingState.HALTED, to_state=TradingState.ACTIVE,
            reason="incident over", actor="bob", changed_ts_ms=4_000,
            baseline_equity=Decimal("9990.5"), baseline_ts_ms=4_000,
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "deliveries",
    [
        pytest.param([halt_episode(), halt_episode()], id="twice"),
        pytest.param([list(reversed(halt_episode())), halt_episode()], id="reset-first"),
    ],
)
async def test_a_halt_episode_and_its_state_changes_land_once(
    pool: asyncpg.Pool, deliveries: list[list[TradingRecord]]
) -> None:
    records = TradingRecords(pool, actor="trading-records")
    for batch in deliveries:
        await records.land(batch)

    episodes = [dict(r) for r in await pool.fetch("SELECT * FROM kill_switch_episodes")]
    assert len(episodes) == 1
    episode = episodes[0]
    assert (episode["episode"], episode["trigger"], episode["reason"], episode["tripped_by"]) == (
        1, "manual", "exchange incident", "alice",
    )  # fmt: skip
    assert (episode["from_state"], episode["tripped_ms"]) == ("reducing", 3_000)
    assert (episode["reset_by"], episode["reset_reason"], episode["resume_state"]) == (
        "bob", "incident over", "active",
    )  # fmt: skip
    assert (episode["reset_equity"], episode["reset_ms"]) == (Decimal("9990.5"), 4_000)
    assert episode["reset_at"] > episode["tripped_at"]
    changes = await pool.fetch(
        "SELECT kind, from_state, to_state, trigger, actor FROM trading_state_changes"
        " ORDER BY changed_ms"
    )
    assert [tuple(c) for c in changes] == [
        ("trading_state_changed", "active", "reducing", None, "alice"),
        ("kill_switch_tripped", "reducing", "halted", "manual", "alice"),
        ("kill_switch_reset", "halted", "active", None, "bob"),
    ]  # fmt: skip
    audit = await pool.fetch("SELECT action, subject, actor, details FROM audit_log ORDER BY at_ms")
    assert [(a["action"], a["subject"], a["actor"]) for a in audit] == [
        ("trading_state.changed", "trading_state", "alice"),
        ("killswitch.tripped", "ks-1", "alice"),
        ("killswitch.reset", "ks-1", "bob"),
    ]  # fmt: skip
    assert json.loads(audit[1]["details"]) == {
        "episode": "1", "from_state": "reducing", "to_state": "halted", "trigger": "manual",
    }  # fmt: skip
    assert json.loads(audit[2]["details"])["baseline_equity"] == "9990.5"
