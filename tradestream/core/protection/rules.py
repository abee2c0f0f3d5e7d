"""The protection rules: each looks at one position at one price and returns a close or None.

``track`` first moves what a fresh price moves (the best price, the trailing stop, the stop to
breakeven) and returns those moves as ``StopUpdate`` records. Then each rule answers on its own;
the arbiter picks among those that fired. The rules:

* ``stop_loss``: the price crossed the stop (the signal's, else ``distance`` from entry; at
  breakeven plus fees once the position was ``trigger_profit`` up);
* ``take_profit``: the final target (the signal's, else ``distance``; none by default: the trail
  takes the rest), else the next partial target (half the position at +2 % by default);
* ``trailing_stop``: the price crossed the trailing stop;
* ``time_stop``: the position was held ``max_holding_hours``;
* ``aged_position``: an aged position's price reached its phase's target, or it is in emergency.

Every close is a market order: a price that gaps through a level closes at the market, and the
decision keeps both the level and the price that crossed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from tradestream.core.protection.aged import AgedPhase, aged_target
from tradestream.core.protection.config import ProtectionConfig
from tradestream.core.protection.decisions import (
    CloseDecision,
    ProtectionRule,
    StopUpdate,
    close_key,
)
from tradestream.core.protection.prices import (
    PositionView,
    PriceObservation,
    hours_ms,
    round_level,
    round_qty,
)
from tradestream.core.protection.state import PositionProtection
from tradestream.core.protection.trailing import ratchet, trailing_level

_R = ProtectionRule


@dataclass(frozen=True, slots=True)
class RuleContext:
    """One position, the price it is judged at, the time, and the symbol's settings."""

    state: PositionProtection
    price: PriceObservation
    now_ms: int
    config: ProtectionConfig
    atr: Decimal | None = None

    @property
    def view(self) -> PositionView:
        """Return the position."""
        return self.state.view

    def close(
        self,
        rule: ProtectionRule,
        reason: str,
        *,
        trigger: Decimal | None = None,
        qty: Decimal | None = None,
        stage: str = "",
        key_stage: str = "",
        requires_price_check: bool = False,
    ) -> CloseDecision:
        """Build the close of ``qty`` (all of it by default) that ``rule`` decided."""
        return build_close(
            self.state,
            self.config,
            rule,
            reason,
            self.now_ms,
            observed=self.price.price,
            trigger=trigger,
            qty=qty,
            stage=stage,
            key_stage=key_stage,
            requires_price_check=requires_price_check,
        )


def build_close(
    state: PositionProtection,
    config: ProtectionConfig,
    rule: ProtectionRule,
    reason: str,
    now_ms: int,
    *,
    observed: Decimal | None,
    trigger: Decimal | None = None,
    qty: Decimal | None = None,
    stage: str = "",
    key_stage: str = "",
    requires_price_check: bool = False,
) -> CloseDecision:
    """Build the close of ``qty`` of ``state``'s position (all of it by default) for ``rule``."""
    view = state.view
    amount = view.qty if qty is None else qty
    key = close_key(rule, key_stage, view.symbol, view.episode)
    return CloseDecision(
        symbol=view.symbol,
        episode=view.episode,
        rule=rule,
        priority=config.priorities.get(rule, 0),
        reason=reason[:500],
        side=view.side.opposite,
        qty=amount,
        fraction=amount / view.qty,
        observed_price=observed,
        trigger_price=trigger,
        decided_ts_ms=now_ms,
        stage=stage,
        key_stage=key_stage,
        leg=state.closing.next_leg(key),
        requires_price_check=requires_price_check,
    )


Rule = Callable[[RuleContext], CloseDecision | None]


def initial_stop(view: PositionView, config: ProtectionConfig) -> Decimal:
    """Return the stop-loss the position opened with."""
    if config.stop_loss.use_signal and view.stop_loss is not None:
        return round_level(view.stop_loss, view.tick_size, long=view.long)
    return view.level(-config.stop_loss.distance)


def stop_level(state: PositionProtection, config: ProtectionConfig) -> Decimal:
    """Return the stop-loss in force: the initial one, or breakeven once armed if tighter."""
    stop = initial_stop(state.view, config)
    if state.breakeven:
        stop = state.view.tighter(stop, state.view.level(config.breakeven.offset))
    return stop


def track(ctx: RuleContext) -> list[StopUpdate]:
    """Take a fresh price in: move the best price, the trailing stop and the breakeven stop."""
    state, view, config = ctx.state, ctx.view, ctx.config
    state.observe(ctx.price.price)
    updates: list[StopUpdate] = []
    candidate = trailing_level(view, config.trailing, state.best_price, ctx.atr)
    if config.trailing.enabled and candidate is not None:
        stop = ratchet(view, state.trailing_stop, candidate)
        if stop != state.trailing_stop:
            reason = f"best price {state.best_price}: trail {abs(state.best_price - stop)} behind"
            recorded = _worth_recording(state, config.trailing.record_step, stop)
            updates.append(
                _update(ctx, _R.TRAILING_STOP, state.trailing_stop, stop, reason, recorded=recorded)
            )
            state.trailing_stop = stop
    armed = view.profit(state.best_price) >= config.breakeven.trigger_profit
    if config.breakeven.enabled and armed and not state.breakeven:
        before = stop_level(state, config)
        state.breakeven = True
        reason = f"best price {state.best_price} is {config.breakeven.trigger_profit:.2%} up"
        updates.append(_update(ctx, _R.STOP_LOSS, before, stop_level(state, config), reason))
    return updates


def stop_loss(ctx: RuleContext) -> CloseDecision | None:
    """Close all when the price crosses the stop-loss in force."""
    stop = stop_level(ctx.state, ctx.config)
    if not ctx.view.crossed(ctx.price.price, stop):
        return None
    what = "breakeven stop" if ctx.state.breakeven else "stop-loss"
    return ctx.close(_R.STOP_LOSS, _crossing(ctx, stop, what), trigger=stop)


def trailing_stop(ctx: RuleContext) -> CloseDecision | None:
    """Close all when the price crosses the active trailing stop."""
    stop = ctx.state.trailing_stop
    if stop is None or not ctx.view.crossed(ctx.price.price, stop):
        return None
    return ctx.close(_R.TRAILING_STOP, _crossing(ctx, stop, "trailing stop"), trigger=stop)


def take_profit(ctx: RuleContext) -> CloseDecision | None:
    """Close all at the final target, else the next partial at its target."""
    view, config, price = ctx.view, ctx.config.take_profit, ctx.price.price
    final = _final_target(view, ctx.config)
    if final is not None and view.reached(price, final):
        return ctx.close(_R.TAKE_PROFIT, f"{price} reached the take-profit {final}", trigger=final)
    for index in range(ctx.state.partials_done, len(config.partials)):
        partial = config.partials[index]
        level = view.level(partial.profit)
        if not view.reached(price, level):
            return None
        qty = min(round_qty(view.qty * partial.fraction, view.qty_step), view.qty)
        if qty > 0:
            stage = f"tp{index + 1}"
            reason = f"{price} reached {stage} {level}: close {partial.fraction:.0%} ({qty})"
            return ctx.close(
                _R.TAKE_PROFIT, reason, trigger=level, qty=qty, stage=stage, key_stage=stage
            )
    return None


def time_stop(ctx: RuleContext) -> CloseDecision | None:
    """Close all once the position was held the configured time."""
    limit = ctx.config.time_stop.max_holding_hours
    held_ms = ctx.now_ms - ctx.view.opened_ts_ms
    if limit is None or held_ms < hours_ms(limit):
        return None
    return ctx.close(_R.TIME_STOP, f"held {held_ms / 3_600_000:.2f} h, limit {limit} h")


def aged_position(ctx: RuleContext) -> CloseDecision | None:
    """Close an aged position whose price reached its phase's target, or any in emergency."""
    aged = ctx.state.aged
    if aged is None or aged.phase not in (
        AgedPhase.GRACE,
        AgedPhase.PROGRESSIVE,
        AgedPhase.EMERGENCY,
    ):
        return None
    target = aged_target(ctx.view, ctx.config.aged, ctx.now_ms)
    hours = f"aged {target.hours_aged:.2f} h, {target.phase}"
    if target.target_price is None:
        return ctx.close(_R.AGED_POSITION, f"{hours}: close at market", stage=str(target.phase))
    if not ctx.view.reached(ctx.price.price, target.target_price):
        return None
    accepted = "breakeven" if target.loss_tolerance == 0 else f"{target.loss_tolerance:.4%} loss"
    reason = f"{hours}: {ctx.price.price} reached {target.target_price} ({accepted})"
    return ctx.close(_R.AGED_POSITION, reason, trigger=target.target_price, stage=str(target.phase))


PRICE_RULES: tuple[Rule, ...] = (trailing_stop, take_profit, stop_loss)
TIMED_RULES: tuple[Rule, ...] = (aged_position, time_stop)


def _final_target(view: PositionView, config: ProtectionConfig) -> Decimal | None:
    if config.take_profit.use_signal and view.take_profit is not None:
        return round_level(view.take_profit, view.tick_size, long=view.long)
    distance = config.take_profit.distance
    return None if distance is None else view.level(distance)


# Say which level the price crossed and, when it jumped past it, that the close is at market.
def _crossing(ctx: RuleContext, level: Decimal, what: str) -> str:
    price = ctx.price.price
    text = f"{price} crossed the {what} {level}"
    ticks = abs(price - level) / ctx.view.tick_size
    if ticks > 1:
        text += f", a gap of {ticks.normalize():f} ticks: closing at market, not at the level"
    return text


def _update(
    ctx: RuleContext,
    rule: ProtectionRule,
    before: Decimal | None,
    after: Decimal,
    reason: str,
    *,
    recorded: bool = True,
) -> StopUpdate:
    return StopUpdate(
        symbol=ctx.view.symbol,
        episode=ctx.view.episode,
        rule=rule,
        previous=before,
        stop_price=after,
        reason=reason,
        ts_ms=ctx.now_ms,
        recorded=recorded,
    )


# The trailing stop's activation is recorded, then a ratchet each ``step`` of the entry price
# past the level last recorded: a row per step of the stop, not per tick.
def _worth_recording(state: PositionProtection, step: Decimal, stop: Decimal) -> bool:
    last = state.trailing_recorded
    if last is not None and abs(stop - last) < state.view.entry_price * step:
        return False
    state.trailing_recorded = stop
    return True
