"""Land the protection agent's records in PostgreSQL, idempotently, inside the records batch.

The trading-records sink (``sinks/trading_records.py``) hands each ``protection.events`` record
to ``ProtectionRecords.land`` in the batch's transaction. Every row has a natural key (close id;
position, rule, reason and time of a suppression; position, phase and time of an aged move;
symbol, time and freshness of an alert; position, place, rule, level and time of a stop) and every
write is an upsert or ``ON CONFLICT DO NOTHING``, so a redelivered record writes nothing twice;
an older aged move never overwrites a newer phase. Closes, their failures, aged moves, exchange
stops and stale-price emergencies also go to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

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

PROTECTION_RECORDS = (
    ProtectionCloseSent,
    ProtectionCloseSuppressed,
    ProtectionCloseEnded,
    AgedPhaseChanged,
    StalePriceRaised,
    ProtectionStopMoved,
    CannotCloseRaised,
)
"""The record types of ``protection.events``, for ``isinstance``."""

Audit = Callable[..., Awaitable[None]]
_PHASES = ("detected", "grace", "progressive", "emergency", "closing", "closed", "error")
_PHASE_COLUMNS = {phase: f"{phase}_at" for phase in _PHASES}


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class ProtectionRecords:
    """Write protection records on the connection (and transaction) the caller holds."""

    def __init__(self, audit: Audit) -> None:
        self._audit = audit

    async def land(self, conn: Any, record: ProtectionRecord) -> None:
        """Write one record and its audit row."""
        if isinstance(record, ProtectionCloseSent):
            await self._sent(conn, record)
        elif isinstance(record, ProtectionCloseSuppressed):
            await self._suppressed(conn, record)
        elif isinstance(record, ProtectionCloseEnded):
            await self._ended(conn, record)
        elif isinstance(record, AgedPhaseChanged):
            await self._aged(conn, record)
        elif isinstance(record, StalePriceRaised):
            await self._stale(conn, record)
        elif isinstance(record, ProtectionStopMoved):
            await self._stop(conn, record)
        else:
            await self._audit(conn, at_ms=record.ts_ms, action="protection.cannot_close",
                              subject=record.close_id, reason=record.reason,
                              details={"symbol": record.symbol, "rule": record.rule,
                                       "attempts": str(record.attempts)})  # fmt: skip

    async def _sent(self, conn: Any, close: ProtectionCloseSent) -> None:
        await conn.execute(
            """
            INSERT INTO protection_closes (close_id, symbol, position_key, episode, rule, stage,
                priority, leg, side, qty, fraction, trigger_price, observed_price, entry_price,
                aged_phase, reason, decided_ms, decided_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                    $18)
            ON CONFLICT (close_id) DO NOTHING
            """,
            close.close_id, close.symbol, close.position_key, close.episode, close.rule,
            close.stage, close.priority, close.leg, close.side.value, close.qty, close.fraction,
            close.trigger_price, close.observed_price, close.entry_price, close.aged_phase,
            close.reason, close.decided_ts_ms, _at(close.decided_ts_ms),
        )  # fmt: skip
        details = {"symbol": close.symbol, "position": close.position_key,
                   "priority": str(close.priority), "qty": str(close.qty),
                   "trigger_price": str(close.trigger_price or ""),
                   "observed_price": str(close.observed_price or "")}  # fmt: skip
        await self._audit(conn, at_ms=close.decided_ts_ms, action=f"protection.close.{close.rule}",
                          subject=close.close_id, reason=close.reason, details=details)  # fmt: skip

    async def _suppressed(self, conn: Any, item: ProtectionCloseSuppressed) -> None:
        await conn.execute(
            """
            INSERT INTO protection_suppressed (symbol, position_key, rule, stage, priority,
                suppress_reason, detail, reason, age_s, decided_ms, decided_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT DO NOTHING
            """,
            item.symbol, item.position_key, item.rule, item.stage, item.priority,
            item.suppress_reason, item.detail, item.reason, item.age_s, item.decided_ts_ms,
            _at(item.decided_ts_ms),
        )  # fmt: skip

    async def _ended(self, conn: Any, ended: ProtectionCloseEnded) -> None:
        await conn.execute(
            """
            UPDATE protection_closes SET status = $2, avg_price = $3, realized_pnl_pct = $4,
                end_reason = $5, ended_ms = $6
            WHERE close_id = $1 AND ended_ms IS NULL
            """,
            ended.close_id, ended.result, ended.avg_price, ended.realized_pnl_pct,
            ended.reason or None, ended.ended_ts_ms,
        )  # fmt: skip
        if ended.aged and ended.full and ended.avg_price is not None:
            await conn.execute(
                """
                UPDATE aged_positions SET close_price = $2, close_order_id = $3,
                    realized_pnl_pct = $4
                WHERE position_key = $1
                """,
                ended.position_key, ended.avg_price, ended.close_id, ended.realized_pnl_pct,
            )  # fmt: skip
        await self._audit(conn, at_ms=ended.ended_ts_ms, action=f"protection.{ended.result}",
                          subject=ended.close_id, reason=ended.reason or ended.result,
                          details={"symbol": ended.symbol, "rule": ended.rule,
                                   "avg_price": str(ended.avg_price or "")})  # fmt: skip

    async def _aged(self, conn: Any, move: AgedPhaseChanged) -> None:
        inserted = await conn.fetchval(
            """
            INSERT INTO aged_positions_history (position_key, symbol, from_phase, to_phase,
                at_ms, at, reason, target_price, breakeven_price, loss_tolerance, attempts)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            move.position_key, move.symbol, move.from_phase, move.to_phase, move.at_ms,
            _at(move.at_ms), move.reason, move.target_price, move.breakeven_price,
            move.loss_tolerance, move.attempts,
        )  # fmt: skip
        if inserted is None:
            return  # a redelivery
        await self._aged_row(conn, move)
        await self._audit(conn, at_ms=move.at_ms, action=f"aged.{move.to_phase}",
                          subject=move.position_key, reason=move.reason,
                          details={"from_phase": move.from_phase or "",
                                   "target_price": str(move.target_price or "")})  # fmt: skip

    # The phase's own time is kept once (the first entry); the rest follows the newest move.
    async def _aged_row(self, conn: Any, move: AgedPhaseChanged) -> None:
        column = _PHASE_COLUMNS[move.to_phase]
        final = move.to_phase in ("closed", "error")
        await conn.execute(
            f"""
            INSERT INTO aged_positions (position_key, symbol, episode, side, entry_price, phase,
                {column}, target_price, breakeven_price, loss_tolerance, attempts, close_reason,
                updated_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (position_key) DO UPDATE SET
                {column} = COALESCE(aged_positions.{column}, EXCLUDED.{column}),
                phase = EXCLUDED.phase, target_price = EXCLUDED.target_price,
                breakeven_price = EXCLUDED.breakeven_price,
                loss_tolerance = EXCLUDED.loss_tolerance, attempts = EXCLUDED.attempts,
                close_reason = COALESCE(EXCLUDED.close_reason, aged_positions.close_reason),
                updated_ms = EXCLUDED.updated_ms
            WHERE EXCLUDED.updated_ms >= aged_positions.updated_ms
            """,  # noqa: S608 - the column name comes from the fixed phase table
            move.position_key, move.symbol, move.episode, move.side.value, move.entry_price,
            move.to_phase, _at(move.at_ms), move.target_price, move.breakeven_price,
            move.loss_tolerance, move.attempts, move.reason if final else None, move.at_ms,
        )  # fmt: skip

    async def _stale(self, conn: Any, alert: StalePriceRaised) -> None:
        inserted = await conn.fetchval(
            """
            INSERT INTO stale_price_alerts (symbol, at_ms, at, freshness, age_s,
                positions_affected, emergency_action)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            alert.symbol, alert.ts_ms, _at(alert.ts_ms), alert.freshness, alert.age_s,
            list(alert.positions_affected), alert.emergency_action,
        )  # fmt: skip
        if inserted is not None and alert.emergency_action is not None:
            age = "never priced" if alert.age_s is None else f"no price for {alert.age_s:.0f} s"
            reason = f"{age}: {alert.emergency_action}"
            details = {"positions": json.dumps(alert.positions_affected)}
            await self._audit(conn, at_ms=alert.ts_ms, action="protection.stale_emergency",
                              subject=alert.symbol, reason=reason, details=details)  # fmt: skip

    async def _stop(self, conn: Any, stop: ProtectionStopMoved) -> None:
        await conn.execute(
            """
            INSERT INTO protection_stops (position_key, symbol, where_held, rule, previous,
                stop_price, reason, command_id, at_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT DO NOTHING
            """,
            stop.position_key, stop.symbol, stop.where, stop.rule, stop.previous,
            stop.stop_price, stop.reason, stop.command_id, stop.ts_ms,
        )  # fmt: skip
        if stop.where == "exchange":
            await self._audit(conn, at_ms=stop.ts_ms, action="protection.exchange_stop",
                              subject=stop.position_key, reason=stop.reason,
                              details={"stop_price": str(stop.stop_price),
                                       "command_id": stop.command_id or ""})  # fmt: skip
