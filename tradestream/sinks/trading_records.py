"""Land the trading spine's events in PostgreSQL, the system of record, idempotently.

Risk decisions (``risk.decisions``), order events (``exec.reports``), position changes and
trading-state changes (kill-switch trips and resets; ``account.events``) and protection's
records (``protection.events``, ``sinks/protection_records.py``) are written here by the
trading-records sink agent, never by the agents that trade: if PostgreSQL is down, trading goes
on, the events wait on their topics (the sink's partitions stop while it retries) and land when it
is back. Every row has a natural key (decision id, order link id + event, exec id, symbol + cause,
halt episode, state change) and every write is an upsert or ``ON CONFLICT DO NOTHING``, so a
redelivered event writes nothing twice. Each landed event also appends its audit row (who, what,
when, why, with parameters); a trading-state change is audited under the actor who made it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tradestream.schemas.account import PositionChanged
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
)
from tradestream.schemas.protection import ProtectionRecord
from tradestream.schemas.reconciliation import ReconciliationCorrected
from tradestream.schemas.trading import (
    KillSwitchReset,
    KillSwitchTripped,
    RiskDecision,
    TradingStateChanged,
)
from tradestream.sinks.protection_records import PROTECTION_RECORDS, ProtectionRecords

TradingStateRecord = KillSwitchTripped | KillSwitchReset | TradingStateChanged
TradingRecord = (
    RiskDecision | OrderEvent | PositionChanged | TradingStateRecord | ReconciliationCorrected
    | ProtectionRecord
)  # fmt: skip
MARK_CAUSE = "mark"
"""The cause of a ``PositionChanged`` that only revalued a position at a new price."""

_STATUS_BY_KIND = {
    "order_submitted": "submitted",
    "order_accepted": "acknowledged",
    "order_partially_filled": "partially_filled",
    "order_filled": "filled",
    "order_cancelled": "cancelled",
    "order_expired": "expired",
    "order_rejected": "rejected",
    "order_failed": "failed",
}
_ACTION_BY_KIND = {
    "kill_switch_tripped": "killswitch.tripped",
    "kill_switch_reset": "killswitch.reset",
    "trading_state_changed": "trading_state.changed",
}


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class TradingRecords:
    """Write batches of trading events to PostgreSQL, each batch in one transaction."""

    def __init__(self, pool: asyncpg.Pool, actor: str) -> None:
        self._pool = pool
        self._actor = actor
        self._protection = ProtectionRecords(self._audit)  # protection.events, same batch

    async def land(self, records: Sequence[TradingRecord]) -> None:
        """Write ``records`` and their audit rows; all or nothing."""
        async with self._pool.acquire() as conn, conn.transaction():
            for record in records:
                if isinstance(record, RiskDecision):
                    await self._decision(conn, record)
                elif isinstance(record, PositionChanged):
                    await self._position(conn, record)
                elif isinstance(record, TradingStateRecord):
                    await self._trading_state(conn, record)
                elif isinstance(record, ReconciliationCorrected):
                    await self._correction(conn, record)
                elif isinstance(record, PROTECTION_RECORDS):
                    await self._protection.land(conn, record)
                else:
                    await self._order_event(conn, record)

    async def _correction(self, conn: Any, correction: ReconciliationCorrected) -> None:
        if correction.action == "order_adopted":
            after = correction.after
            await conn.execute(
                """
                INSERT INTO orders (order_link_id, symbol, side, qty, price, status, cum_qty,
                                    updated_ms, external, reason)
                VALUES ($1, $2, $3, $4::numeric, NULLIF($5, '')::numeric, 'acknowledged', 0,
                        $6, true, $7)
                ON CONFLICT (order_link_id) DO UPDATE SET external = true
                """,
                correction.subject,
                correction.symbol,
                after["side"],
                after["qty"],
                after["price"],
                correction.at_ms,
                correction.reason,
            )
        details = {"symbol": correction.symbol or "", "before": json.dumps(correction.before),
                   "after": json.dumps(correction.after)}  # fmt: skip
        await self._audit(conn, at_ms=correction.at_ms, action=f"reconcile.{correction.action}",
                          subject=correction.subject, reason=correction.reason,
                          details=details)  # fmt: skip

    async def _decision(self, conn: Any, decision: RiskDecision) -> None:
        await conn.execute(
            """
            INSERT INTO risk_decisions (decision_id, signal_id, strategy, symbol, side, approved,
                qty, price, order_link_id, rule, reason, trading_state, decided_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (decision_id) DO NOTHING
            """,
            decision.decision_id,
            decision.signal_id,
            decision.strategy,
            decision.symbol,
            decision.side.value,
            decision.approved,
            decision.qty,
            decision.price,
            decision.order_link_id,
            decision.rule,
            decision.reason,
            decision.trading_state.value,
            _at(decision.decided_ts_ms),
        )
        if decision.approved and decision.order_link_id is not None:
            await conn.execute(
                """
                INSERT INTO orders (order_link_id, symbol, side, qty, price, status, signal_id,
                                    reduce_only, updated_ms)
                VALUES ($1, $2, $3, $4, $5, 'new', $6, $7, 0)
                ON CONFLICT (order_link_id) DO UPDATE SET
                    side = COALESCE(orders.side, EXCLUDED.side),
                    qty = COALESCE(orders.qty, EXCLUDED.qty),
                    signal_id = EXCLUDED.signal_id, reduce_only = EXCLUDED.reduce_only
                """,
                decision.order_link_id,
                decision.symbol,
                decision.side.value,
                decision.qty,
                decision.price,
                decision.signal_id,
                decision.reduce_only,
            )
        action = "risk.approved" if decision.approved else f"risk.refused.{decision.rule}"
        details = {"signal_id": decision.signal_id, "qty": str(decision.qty or "")}
        await self._audit(conn, at_ms=decision.decided_ts_ms, action=action,
                          subject=decision.decision_id, reason=decision.reason,
                          details=details)  # fmt: skip

    async def _order_event(self, conn: Any, event: OrderEvent) -> None:
        exec_id = getattr(event, "exec_id", "")
        inserted = await conn.fetchval(
            """
            INSERT INTO order_events (order_link_id, kind, occurred_ms, exec_id, symbol, payload)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb)
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            event.order_link_id,
            event.kind,
            event.occurred_at_ms,
            exec_id,
            event.symbol,
            event.model_dump_json(),
        )
        if inserted is None:
            return  # a redelivery: the order row and audit already have it
        await self._order_row(conn, event)
        if isinstance(event, OrderPartiallyFilled | OrderFilled):
            await conn.execute(
                """
                INSERT INTO executions (exec_id, order_link_id, symbol, side, qty, price, fee,
                                        executed_at, is_maker)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (exec_id) DO NOTHING
                """,
                event.exec_id,
                event.order_link_id,
                event.symbol,
                event.side.value,
                event.exec_qty,
                event.exec_price,
                event.exec_fee,
                _at(event.occurred_at_ms),
                event.is_maker,
            )
        reason = getattr(event, "reason", "") or _STATUS_BY_KIND[event.kind]
        await self._audit(conn, at_ms=event.occurred_at_ms, action=f"order.{event.kind}",
                          subject=event.order_link_id, reason=reason,
                          details={"symbol": event.symbol, "exec_id": exec_id})  # fmt: skip

    async def _order_row(self, conn: Any, event: OrderEvent) -> None:
        side = qty = price = cum = avg = None
        if isinstance(event, OrderAccepted):
            side, qty, price = event.side.value, event.qty, event.price
        elif isinstance(event, OrderPartiallyFilled | OrderFilled):
            side, cum, avg = event.side.value, event.cum_qty, event.avg_price
        reason = event.reason if isinstance(event, OrderRejected) else None
        await conn.execute(
            """
            INSERT INTO orders (order_link_id, symbol, side, qty, price, status, cum_qty,
                                avg_price, updated_ms, reason)
            VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::numeric, 0), $8, $9, $10)
            ON CONFLICT (order_link_id) DO UPDATE SET
                side = COALESCE(orders.side, EXCLUDED.side),
                qty = COALESCE(orders.qty, EXCLUDED.qty),
                price = COALESCE(orders.price, EXCLUDED.price),
                status = CASE WHEN EXCLUDED.status = 'submitted' AND orders.status <> 'new'
                              THEN orders.status
                              WHEN EXCLUDED.updated_ms >= orders.updated_ms
                              THEN EXCLUDED.status ELSE orders.status END,
                cum_qty = GREATEST(orders.cum_qty, EXCLUDED.cum_qty),
                avg_price = COALESCE(EXCLUDED.avg_price, orders.avg_price),
                reason = COALESCE(EXCLUDED.reason, orders.reason),
                updated_ms = GREATEST(orders.updated_ms, EXCLUDED.updated_ms),
                updated_at = now()
            """,
            event.order_link_id,
            event.symbol,
            side,
            qty,
            price,
            _STATUS_BY_KIND[event.kind],
            cum,
            avg,
            event.occurred_at_ms,
            reason,
        )

    async def _position(self, conn: Any, change: PositionChanged) -> None:
        # A mark only revalues the current row; the history keeps what trading changed.
        if change.cause != MARK_CAUSE and await self._position_change(conn, change) is None:
            return  # a redelivery
        await self._position_row(conn, change)

    async def _position_change(self, conn: Any, change: PositionChanged) -> int | None:
        inserted: int | None = await conn.fetchval(
            """
            INSERT INTO position_changes (symbol, cause, updated_ms, size, entry_price,
                realized_pnl, fees_paid, unrealized_pnl)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            change.symbol,
            change.cause,
            change.updated_ts_ms,
            change.size,
            change.entry_price,
            change.realized_pnl,
            change.fees_paid,
            change.unrealized_pnl,
        )
        return inserted

    async def _position_row(self, conn: Any, change: PositionChanged) -> None:
        await conn.execute(
            """
            INSERT INTO positions (symbol, size, avg_entry, realized_pnl, fees_paid,
                unrealized_pnl, mark_price, opened_at, updated_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (symbol) DO UPDATE SET
                size = EXCLUDED.size, avg_entry = EXCLUDED.avg_entry,
                realized_pnl = EXCLUDED.realized_pnl, fees_paid = EXCLUDED.fees_paid,
                unrealized_pnl = EXCLUDED.unrealized_pnl, mark_price = EXCLUDED.mark_price,
                opened_at = EXCLUDED.opened_at, updated_ms = EXCLUDED.updated_ms,
                updated_at = now()
            WHERE EXCLUDED.updated_ms >= positions.updated_ms
            """,
            change.symbol,
            change.size,
            change.entry_price,
            change.realized_pnl,
            change.fees_paid,
            change.unrealized_pnl,
            change.mark_price,
            None if change.opened_ts_ms is None else _at(change.opened_ts_ms),
            change.updated_ts_ms,
        )

    async def _trading_state(self, conn: Any, event: TradingStateRecord) -> None:
        if await self._state_change(conn, event) is None:
            return  # a redelivery: the episode and the audit log already have it
        details = {"episode": str(event.episode), "from_state": event.from_state.value,
                   "to_state": event.to_state.value}  # fmt: skip
        if isinstance(event, KillSwitchTripped):
            await self._trip(conn, event)
            details["trigger"] = event.trigger.value
        elif isinstance(event, KillSwitchReset):
            await self._reset(conn, event)
        if event.baseline_equity is not None:
            details["baseline_equity"] = str(event.baseline_equity)
        subject = f"ks-{event.episode}"  # the halt episode, as in its closes' command ids
        if isinstance(event, TradingStateChanged):
            subject = "trading_state"
        await self._audit(conn, at_ms=event.changed_ts_ms, action=_ACTION_BY_KIND[event.kind],
                          subject=subject, reason=event.reason, details=details,
                          actor=event.actor)  # fmt: skip

    async def _state_change(self, conn: Any, event: TradingStateRecord) -> int | None:
        inserted: int | None = await conn.fetchval(
            """
            INSERT INTO trading_state_changes (episode, changed_ms, from_state, to_state, kind,
                trigger, reason, actor, changed_at, baseline_equity)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            event.episode,
            event.changed_ts_ms,
            event.from_state.value,
            event.to_state.value,
            event.kind,
            event.trigger.value if isinstance(event, KillSwitchTripped) else None,
            event.reason,
            event.actor,
            _at(event.changed_ts_ms),
            event.baseline_equity,
        )
        return inserted

    # Each side of an episode fills its own columns once: the first landing wins.
    async def _trip(self, conn: Any, event: KillSwitchTripped) -> None:
        await conn.execute(
            """
            INSERT INTO kill_switch_episodes (episode, trigger, reason, tripped_by, from_state,
                tripped_at, tripped_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (episode) DO UPDATE SET
                trigger = EXCLUDED.trigger, reason = EXCLUDED.reason,
                tripped_by = EXCLUDED.tripped_by, from_state = EXCLUDED.from_state,
                tripped_at = EXCLUDED.tripped_at, tripped_ms = EXCLUDED.tripped_ms
            WHERE kill_switch_episodes.tripped_ms IS NULL
            """,
            event.episode,
            event.trigger.value,
            event.reason,
            event.actor,
            event.from_state.value,
            _at(event.changed_ts_ms),
            event.changed_ts_ms,
        )

    async def _reset(self, conn: Any, event: KillSwitchReset) -> None:
        await conn.execute(
            """
            INSERT INTO kill_switch_episodes (episode, reset_by, reset_reason, resume_state,
                reset_equity, reset_at, reset_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (episode) DO UPDATE SET
                reset_by = EXCLUDED.reset_by, reset_reason = EXCLUDED.reset_reason,
                resume_state = EXCLUDED.resume_state, reset_equity = EXCLUDED.reset_equity,
                reset_at = EXCLUDED.reset_at, reset_ms = EXCLUDED.reset_ms
            WHERE kill_switch_episodes.reset_ms IS NULL
            """,
            event.episode,
            event.actor,
            event.reason,
            event.to_state.value,
            event.baseline_equity,
            _at(event.changed_ts_ms),
            event.changed_ts_ms,
        )

    async def _audit(
        self, conn: Any, *, at_ms: int, action: str, subject: str, reason: str,
        details: dict[str, str], actor: str | None = None,
    ) -> None:  # fmt: skip
        await conn.execute(
            """
            INSERT INTO audit_log (at, at_ms, actor, action, subject, reason, details)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
            ON CONFLICT (subject, action, at_ms) DO NOTHING
            """,
            _at(at_ms),
            at_ms,
            actor or self._actor,
            action,
            subject,
            reason[:500],
            json.dumps(details),
        )
