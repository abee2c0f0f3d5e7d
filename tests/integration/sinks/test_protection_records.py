"""Protection's records land in real PostgreSQL once, whatever order and however often."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from tradestream.schemas.orders import Side
from tradestream.schemas.protection import (
    AgedPhaseChanged,
    CannotCloseRaised,
    ProtectionCloseEnded,
    ProtectionCloseSent,
    ProtectionCloseSuppressed,
    ProtectionRecord,
    ProtectionStopMoved,
    StalePriceRaised,
)
from tradestream.sinks.trading_records import TradingRecords

D = Decimal
T0, HOUR = 1_767_225_600_000, 3_600_000
KEY = dict(symbol="SOLUSDT", episode=T0)
CLOSE_ID = "protection-0123456789abcdef012345"


def aged(before: str | None, after: str, hours: float, reason: str = "aged") -> AgedPhaseChanged:
    return AgedPhaseChanged(**KEY, from_phase=before, to_phase=after,
                            at_ms=T0 + int(hours * HOUR), reason=reason, target_price=D("100.12"),
                            breakeven_price=D("100.12"), loss_tolerance=D(0), attempts=0,
                            side=Side.BUY, entry_price=D(100))  # fmt: skip


def wind_down() -> list[ProtectionRecord]:
    """An aged position detected, wound down to an emergency close, closed; and what else."""
    return [
        aged(None, "detected", 3), aged("detected", "grace", 3),
        aged("grace", "progressive", 11), aged("progressive", "emergency", 31),
        ProtectionCloseSuppressed(**KEY, rule="time_stop", priority=50, reason="held 31 h",
                                  suppress_reason="lower_priority", detail="aged wins",
                                  decided_ts_ms=T0 + 31 * HOUR),
        ProtectionCloseSent(**KEY, close_id=CLOSE_ID, rule="aged_position", stage="emergency",
                            priority=40, reason="aged 28 h: close at market", side=Side.SELL,
                            qty=D(10), fraction=D(1), leg=0, observed_price=D(85),
                            entry_price=D(100), aged_phase="emergency",
                            decided_ts_ms=T0 + 31 * HOUR),
        aged("emergency", "closing", 31, "sent"),
        ProtectionCloseEnded(**KEY, close_id=CLOSE_ID, rule="aged_position", result="filled",
                             avg_price=D("84.99"), realized_pnl_pct=D("-15.0100"), aged=True,
                             ended_ts_ms=T0 + 31 * HOUR + 500),
        aged("closing", "closed", 31.001, "position closed by its aged close"),
        StalePriceRaised(**KEY, age_s=31.0, freshness="critical",
                         positions_affected=(f"SOLUSDT:{T0}",), ts_ms=T0 + HOUR),
        ProtectionStopMoved(**KEY, where="exchange", rule="exchange_stop", stop_price=D("49.5"),
                            reason="opened", command_id="xs-1", ts_ms=T0),
        CannotCloseRaised(**KEY, rule="stop_loss", close_id="protection-x", attempts=4,
                          reason="4 closes failed", ts_ms=T0 + 2 * HOUR),
    ]  # fmt: skip


async def test_a_wind_down_lands_once_however_often_it_is_delivered(pool: asyncpg.Pool) -> None:
    records = TradingRecords(pool, actor="trading-records")

    await records.land(wind_down())
    await records.land(wind_down())
    await records.land(wind_down()[:3])  # an old move again: the phase stays closed

    [row] = await pool.fetch("SELECT * FROM aged_positions")
    assert row["phase"] == "closed"
    assert row["detected_at"].timestamp() * 1000 == T0 + 3 * HOUR
    assert row["progressive_at"].timestamp() * 1000 == T0 + 11 * HOUR
    assert (row["close_price"], row["close_order_id"], row["realized_pnl_pct"]) == (
        D("84.99"), CLOSE_ID, D("-15.0100"))  # fmt: skip
    assert row["close_reason"] == "position closed by its aged close"
    assert await pool.fetchval("SELECT count(*) FROM aged_positions_history") == 6
    [close] = await pool.fetch("SELECT * FROM protection_closes")
    assert (close["status"], close["avg_price"], close["aged_phase"]) == ("filled", D("84.99"),
                                                                         "emergency")  # fmt: skip
    for table in ("protection_suppressed", "stale_price_alerts", "protection_stops"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 1, table  # noqa: S608
    actions = {r["action"] for r in await pool.fetch("SELECT action FROM audit_log")}
    assert {"aged.detected", "aged.closed", "protection.close.aged_position", "protection.filled",
            "protection.exchange_stop", "protection.cannot_close"} <= actions  # fmt: skip


def ratchets() -> list[ProtectionRecord]:
    """A trailing stop activated and ratcheted a record step at a time (as the agent sends it)."""
    levels = [(None, "101.10"), ("101.10", "101.35"), ("101.35", "101.63"), ("101.63", "101.88")]
    return [ProtectionStopMoved(**KEY, where="client", rule="trailing_stop",
                                previous=None if before is None else D(before), stop_price=D(after),
                                reason=f"best price: trail behind at {after}",
                                ts_ms=T0 + i * 1000)
            for i, (before, after) in enumerate(levels)]  # fmt: skip


async def test_each_trailing_ratchet_lands_as_one_row_however_often_it_is_delivered(
    pool: asyncpg.Pool,
) -> None:
    records = TradingRecords(pool, actor="trading-records")

    await records.land(ratchets())
    await records.land(ratchets()[1:3])  # redelivered

    rows = await pool.fetch("SELECT * FROM protection_stops WHERE rule = 'trailing_stop' "
                            "AND where_held = 'client' ORDER BY at_ms")  # fmt: skip
    assert [(r["previous"], r["stop_price"]) for r in rows] == [
        (None, D("101.10")), (D("101.10"), D("101.35")), (D("101.35"), D("101.63")),
        (D("101.63"), D("101.88"))]  # fmt: skip
    assert {r["position_key"] for r in rows} == {f"SOLUSDT:{T0}"}
