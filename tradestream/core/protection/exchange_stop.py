"""The safety-net stop held by the exchange, for when every worker is down.

Its level is the client-side stop in force (the stop-loss or breakeven stop, or the trailing stop
when tighter) moved ``buffer`` further away, so the client rules act first and the exchange only
acts when they cannot. It is set as soon as the position is known and then only tightened: at
most once per ``min_interval_s``, and only when the new level is at least one tick tighter, so a
trailing stop that ratchets every tick does not become one exchange call per tick.
"""

from __future__ import annotations

from decimal import Decimal

from tradestream.core.protection.config import ProtectionConfig
from tradestream.core.protection.decisions import SetExchangeStop
from tradestream.core.protection.prices import ONE, round_level
from tradestream.core.protection.rules import stop_level
from tradestream.core.protection.state import PositionProtection


def exchange_stop_level(state: PositionProtection, config: ProtectionConfig) -> Decimal:
    """Return the hard stop the exchange should hold now, rounded to the tick in our favour."""
    view = state.view
    client = stop_level(state, config)
    if state.trailing_stop is not None:
        client = view.tighter(client, state.trailing_stop)
    buffer = config.exchange_stop.buffer
    raw = client * (ONE - buffer if view.long else ONE + buffer)
    return round_level(raw, view.tick_size, long=view.long)


def exchange_stop_update(
    state: PositionProtection, config: ProtectionConfig, now_ms: int
) -> SetExchangeStop | None:
    """Return the exchange stop to set now and record it as set, or None while it stands."""
    settings = config.exchange_stop
    if not settings.enabled:
        return None
    view, previous = state.view, state.exchange_stop
    level = exchange_stop_level(state, config)
    if previous is not None:
        tightened = level - previous if view.long else previous - level
        waited_ms = now_ms - (state.exchange_stop_ts_ms or 0)
        if tightened < view.tick_size or waited_ms < settings.min_interval_s * 1000:
            return None
        reason = f"client stop moved: tighten by {tightened} to {level}"
    else:
        reason = f"position opened at {view.entry_price}: hard stop at {level}"
    state.exchange_stop, state.exchange_stop_ts_ms = level, now_ms
    return SetExchangeStop(
        symbol=view.symbol,
        episode=view.episode,
        side=view.side,
        stop_price=level,
        previous=previous,
        trigger_by=settings.trigger_by,
        reason=reason,
        issued_ts_ms=now_ms,
    )
