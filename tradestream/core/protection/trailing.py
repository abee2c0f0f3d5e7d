"""The trailing stop's level: where it sits behind the best price, exact to the tick.

The stop exists once the best price since opening is ``activation_profit`` in the money. It
trails the best price by a distance: ``callback`` of the best price, or ``atr_multiple`` ATRs
when an ATR is supplied, but never less than the ladder's distance for the profit reached (more
room as the move grows: 1 % from +2 %, 1.5 % from +5 %, 2 % from +10 %). The level is rounded to
the tick in the position's favour (up for a long, never giving back more than the distance) and
kept below the best price (above, for a short). The stop only ratchets: a wider distance from a
ladder step never moves it back.
"""

from __future__ import annotations

from decimal import Decimal

from tradestream.core.protection.config import TrailingStopConfig
from tradestream.core.protection.prices import PositionView, round_level


def trailing_distance(
    config: TrailingStopConfig, best: Decimal, profit: Decimal, atr: Decimal | None
) -> Decimal:
    """Return how far (in price) the stop trails ``best`` at ``profit`` (a fraction)."""
    base = atr * config.atr_multiple if atr is not None and atr > 0 else best * config.callback
    floor = Decimal(0)
    for step in config.ladder:
        if profit >= step.profit:
            floor = best * step.distance
    return max(base, floor)


def trailing_level(
    view: PositionView, config: TrailingStopConfig, best: Decimal, atr: Decimal | None = None
) -> Decimal | None:
    """Return the stop the best price calls for, or None before the trail activates."""
    profit = view.profit(best)
    if profit < config.activation_profit:
        return None
    distance = trailing_distance(config, best, profit, atr)
    raw = best - distance if view.long else best + distance
    stop = round_level(raw, view.tick_size, long=view.long)
    if view.long:
        return min(stop, round_level(best - view.tick_size, view.tick_size, long=True))
    return max(stop, round_level(best + view.tick_size, view.tick_size, long=False))


def ratchet(view: PositionView, current: Decimal | None, candidate: Decimal) -> Decimal:
    """Return the new stop: the candidate if it is tighter, else the current one."""
    return candidate if current is None else view.tighter(current, candidate)
