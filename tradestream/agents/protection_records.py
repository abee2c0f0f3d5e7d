"""What the protection agent sends, records and counts for each step of its desk.

A step's closes become reduce-only market ``PlaceOrder`` commands (the core's ids) and its
exchange stops ``SetTradingStop`` commands, both for ``exec.orders``; everything it decided,
sent or not, becomes a ``protection.events`` record (``schemas/protection.py``) for PostgreSQL;
and the Prometheus counters follow the same facts. Client-side stop moves are recorded when the
trailing stop activates, when it ratchets a ``trailing.record_step`` past the level last
recorded (one row per step, not per tick; the close that follows names the level it crossed),
and when the stop goes to breakeven.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from tradestream.agents.protection_desk import EndedClose, Step
from tradestream.core.protection import (
    AgedPhase,
    AgedTransition,
    CloseDecision,
    PositionView,
    PriceKind,
    ProtectionRule,
    SetExchangeStop,
    StopUpdate,
    Suppressed,
)
from tradestream.schemas.orders import SetTradingStop, StopTrigger
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
from tradestream.web import metrics

STRATEGY = "protection"
_TRIGGERS = {PriceKind.MARK: StopTrigger.MARK, PriceKind.LAST: StopTrigger.LAST,
             PriceKind.MID: StopTrigger.LAST}  # fmt: skip
"""Bybit triggers on mark, last or index price: a mid-price config triggers on the last."""
_PCT = Decimal("0.0001")


def stop_command(stop: SetExchangeStop) -> SetTradingStop:
    """Build the command that sets ``stop`` on the exchange (its id derives from the level)."""
    return SetTradingStop(
        command_id=stop.command_id,
        strategy=STRATEGY,
        symbol=stop.symbol,
        stop_loss=stop.stop_price,
        trigger_by=_TRIGGERS[stop.trigger_by],
        reason=stop.reason[:500],
        issued_at_ms=stop.issued_ts_ms,
    )


def aged_phase_of(step: Step, close: CloseDecision) -> str | None:
    """Return the aged phase an aged close was sent in (None for any other close)."""
    if close.rule is not ProtectionRule.AGED_POSITION:
        return None
    moves = [t for t in step.outcome.aged_transitions if t.to_phase is AgedPhase.CLOSING]
    phase = moves[-1].from_phase if moves else None
    return str(phase) if phase is not None else close.stage or None


def records_of(step: Step) -> list[ProtectionRecord]:
    """Return every record of ``step`` for ``protection.events``, in the order it happened."""
    return [*_decisions(step), *_alerts(step)]


def count(step: Step) -> None:
    """Follow ``step`` in the Prometheus counters."""
    outcome, symbol = step.outcome, step.symbol
    for close in outcome.closes:
        metrics.protection_closes.labels(close.rule, aged_phase_of(step, close) or "none").inc()
    for item in step.suppressed:
        metrics.protection_suppressed.labels(item.decision.rule, item.reason).inc()
    for update in outcome.stop_updates:
        if update.rule is ProtectionRule.TRAILING_STOP and update.previous is None:
            metrics.protection_trailing_activations.labels(symbol).inc()
    if step.ended is not None:
        ended = step.ended
        metrics.protection_close_results.labels(ended.close.rule, ended.result.kind).inc()
    for failure in outcome.failures:
        metrics.protection_cannot_close.labels(failure.symbol).inc()
    for alert in outcome.alerts:
        metrics.protection_stale_alerts.labels(symbol, alert.freshness).inc()
    for emergency in outcome.emergencies:
        metrics.protection_stale_alerts.labels(emergency.symbol, "emergency").inc()
    for stop in outcome.exchange_stops:
        metrics.protection_exchange_stops.labels(stop.symbol).inc()


# Closes ended, held back and sent, aged moves and stop moves: what was decided.
def _decisions(step: Step) -> Iterator[ProtectionRecord]:
    outcome, view = step.outcome, step.view
    if step.ended is not None and view is not None:
        yield _ended(step.ended, view, aged=step.aged)
    for item in step.suppressed:
        yield _suppressed(item)
    if view is not None:
        for close in outcome.closes:
            yield _sent(close, view, aged_phase_of(step, close))
        for transition in outcome.aged_transitions:
            yield _aged(transition, view)
        for update in outcome.stop_updates:
            if update.recorded:
                yield _client_stop(update)


# Exchange stops, stale prices and positions that cannot be closed: what needs watching.
def _alerts(step: Step) -> Iterator[ProtectionRecord]:
    outcome, view = step.outcome, step.view
    for stop in outcome.exchange_stops:
        yield _exchange_stop(stop)
    for alert in outcome.alerts:
        yield StalePriceRaised(symbol=alert.symbol, episode=_episode(view), age_s=alert.age_s,
                               freshness=str(alert.freshness),
                               positions_affected=alert.positions_affected,
                               ts_ms=alert.ts_ms)  # fmt: skip
    for emergency in outcome.emergencies:
        yield StalePriceRaised(symbol=emergency.symbol, episode=_episode(view),
                               age_s=emergency.age_s, freshness="critical",
                               positions_affected=emergency.positions_affected,
                               emergency_action=str(emergency.action),
                               ts_ms=emergency.ts_ms)  # fmt: skip
    for failure in outcome.failures:
        yield CannotCloseRaised(symbol=failure.symbol, episode=failure.episode,
                                rule=str(failure.rule), close_id=failure.close_id,
                                attempts=failure.attempts, reason=failure.reason,
                                ts_ms=failure.ts_ms)  # fmt: skip


def _episode(view: PositionView | None) -> int:
    return 0 if view is None else view.episode


def _sent(close: CloseDecision, view: PositionView, phase: str | None) -> ProtectionCloseSent:
    return ProtectionCloseSent(
        symbol=close.symbol,
        episode=close.episode,
        close_id=close.close_id,
        rule=str(close.rule),
        stage=close.stage,
        priority=close.priority,
        reason=close.reason,
        side=close.side,
        qty=close.qty,
        fraction=close.fraction,
        leg=close.leg,
        trigger_price=close.trigger_price,
        observed_price=close.observed_price,
        entry_price=view.entry_price,
        aged_phase=phase,
        decided_ts_ms=close.decided_ts_ms,
    )


def _suppressed(item: Suppressed) -> ProtectionCloseSuppressed:
    decision = item.decision
    return ProtectionCloseSuppressed(
        symbol=decision.symbol,
        episode=decision.episode,
        rule=str(decision.rule),
        stage=decision.stage,
        priority=decision.priority,
        reason=decision.reason,
        suppress_reason=str(item.reason),
        detail=item.detail[:500] or str(item.reason),
        age_s=item.age_s,
        decided_ts_ms=decision.decided_ts_ms,
    )


def _ended(ended: EndedClose, view: PositionView, *, aged: bool) -> ProtectionCloseEnded:
    avg = ended.avg_price
    pnl = None
    if avg is not None:
        move = (avg - view.entry_price) / view.entry_price * 100
        pnl = (move if view.long else -move).quantize(_PCT)
    return ProtectionCloseEnded(
        symbol=view.symbol,
        episode=view.episode,
        close_id=ended.close.close_id,
        rule=str(ended.close.rule),
        result=str(ended.result.kind),
        reason=ended.result.reason,
        avg_price=avg,
        realized_pnl_pct=pnl,
        full=ended.close.qty >= view.qty,
        aged=aged,
        ended_ts_ms=ended.result.ts_ms,
    )


def _aged(transition: AgedTransition, view: PositionView) -> AgedPhaseChanged:
    return AgedPhaseChanged(
        symbol=transition.symbol,
        episode=transition.episode,
        from_phase=None if transition.from_phase is None else str(transition.from_phase),
        to_phase=str(transition.to_phase),
        at_ms=transition.at_ms,
        reason=transition.reason,
        target_price=transition.target_price,
        breakeven_price=transition.breakeven_price,
        loss_tolerance=transition.loss_tolerance,
        attempts=transition.attempts,
        side=view.side,
        entry_price=view.entry_price,
    )


def _client_stop(update: StopUpdate) -> ProtectionStopMoved:
    return ProtectionStopMoved(
        symbol=update.symbol,
        episode=update.episode,
        where="client",
        rule=str(update.rule),
        previous=update.previous,
        stop_price=update.stop_price,
        reason=update.reason[:500],
        ts_ms=update.ts_ms,
    )


def _exchange_stop(stop: SetExchangeStop) -> ProtectionStopMoved:
    return ProtectionStopMoved(
        symbol=stop.symbol,
        episode=stop.episode,
        where="exchange",
        rule="exchange_stop",
        previous=stop.previous,
        stop_price=stop.stop_price,
        reason=stop.reason[:500],
        command_id=stop.command_id,
        ts_ms=stop.issued_ts_ms,
    )
