"""One evaluation of one position: advance its aged phase, take the price in, fire every rule,
drop what the price is too old for, let the arbiter pick one close, and send it only when no
other close is in flight (nor waiting to retry, nor halted by the kill switch).

The same evaluation runs on a price, on a position change and on the timer, so a close that was
suppressed or failed is decided again at the next one, and the backtester gets the same answers
as the live agent.
"""

from __future__ import annotations

from tradestream.core.protection.aged import TIMED_PHASES, AgedPhase, AgedTransition, aged_target
from tradestream.core.protection.arbiter import arbitrate
from tradestream.core.protection.config import ProtectionConfig
from tradestream.core.protection.decisions import (
    CloseDecision,
    ProtectionRule,
    StopUpdate,
    Suppressed,
    SuppressReason,
)
from tradestream.core.protection.exchange_stop import exchange_stop_update
from tradestream.core.protection.freshness import (
    classify,
    price_age_s,
    stale_close,
    stale_for,
    suppress_stale,
)
from tradestream.core.protection.outcome import NOTHING, ProtectionOutcome
from tradestream.core.protection.rules import PRICE_RULES, TIMED_RULES, RuleContext, track
from tradestream.core.protection.state import PositionProtection, SymbolState
from tradestream.core.staleness import Freshness

RULES = PRICE_RULES + TIMED_RULES


def evaluate(
    entry: SymbolState,
    config: ProtectionConfig,
    now_ms: int,
    *,
    halted: bool = False,
) -> ProtectionOutcome:
    """Evaluate the symbol's open position at its last price; return what to send and record."""
    state = entry.position
    if state is None:
        return NOTHING
    transitions = catch_up(state, config, now_ms)
    age = price_age_s(entry, now_ms)
    updates, fired = _fire(entry, state, config, now_ms, age=age)
    live = [d for d in fired if not stale_for(d, age, config)]
    suppressed = [suppress_stale(d, age) for d in fired if stale_for(d, age, config)]
    emergency = stale_close(entry, config, now_ms)
    if emergency is not None:
        live.append(emergency)
    arbitration = arbitrate(live)
    suppressed.extend(arbitration.suppressed)
    closes: tuple[CloseDecision, ...] = ()
    winner = arbitration.winner
    if winner is not None:
        blocked = _gate(state, now_ms, halted)
        if blocked is not None:
            suppressed.append(Suppressed(winner, *blocked))
        else:
            state.closing.send(winner, now_ms)
            closes = (winner,)
            transitions.extend(_aged_closing(state, config, winner, now_ms))
    exchange = exchange_stop_update(state, config, now_ms)
    return ProtectionOutcome(
        closes=closes,
        suppressed=tuple(suppressed),
        stop_updates=tuple(updates),
        exchange_stops=() if exchange is None else (exchange,),
        aged_transitions=tuple(transitions),
    )


def catch_up(
    state: PositionProtection, config: ProtectionConfig, now_ms: int
) -> list[AgedTransition]:
    """Move an aged position to the phase its age puts it in (recording each step)."""
    aged = state.aged
    if aged is None or not aged.active:
        return []
    target = aged_target(state.view, config.aged, now_ms)
    return aged.catch_up(target, now_ms, in_flight=state.closing.in_flight is not None)


# Take a fresh price in and fire every rule at it (nothing without a price).
def _fire(
    entry: SymbolState,
    state: PositionProtection,
    config: ProtectionConfig,
    now_ms: int,
    *,
    age: float | None,
) -> tuple[list[StopUpdate], list[CloseDecision]]:
    if entry.price is None:
        return [], []
    # The ATR fed with the prices, else the one the opening signal gave (None: the callback).
    atr = entry.atr if entry.atr is not None else state.view.atr
    ctx = RuleContext(state, entry.price, now_ms, config, atr)
    trailing = config.staleness.for_rule(ProtectionRule.TRAILING_STOP)
    updates = track(ctx) if classify(age, trailing) is not Freshness.CRITICAL else []
    fired = [decision for rule in RULES if (decision := rule(ctx)) is not None]
    return updates, fired


def _gate(
    state: PositionProtection, now_ms: int, halted: bool
) -> tuple[SuppressReason, str] | None:
    if halted:
        return SuppressReason.KILL_SWITCH, "the kill switch is closing every position"
    return state.closing.gate(now_ms)


def _aged_closing(
    state: PositionProtection, config: ProtectionConfig, winner: CloseDecision, now_ms: int
) -> list[AgedTransition]:
    aged = state.aged
    if aged is None or aged.phase not in TIMED_PHASES:
        return []
    if winner.rule is not ProtectionRule.AGED_POSITION:
        return []
    target = aged_target(state.view, config.aged, now_ms)
    reason = f"{winner.close_id} sent: {winner.reason}"
    return [aged.move(AgedPhase.CLOSING, now_ms, reason, target)]
