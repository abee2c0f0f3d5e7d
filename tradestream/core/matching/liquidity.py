"""Walking book levels, and hiding the liquidity our own simulated fills already took.

Recorded or replayed books do not know about our simulated orders, so a level we swept still
shows on the next update, and a resting order would fill again against liquidity it already
took. ``TakenLiquidity`` remembers what we took at each level and hides it until the exchange's
size at that level changes, which means the level was refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import NamedTuple

from tradestream.core.matching.book import BookView, Level
from tradestream.schemas.orders import Side

_ZERO = Decimal(0)


class VisibleLevel(NamedTuple):
    """A level as our orders see it: what is left after our fills, and what the book shows."""

    price: Decimal
    size: Decimal
    displayed: Decimal


class TakenLiquidity:
    """Remember, per symbol, side and price, how much of the displayed size we consumed."""

    def __init__(self) -> None:
        self._taken: dict[tuple[str, Side, Decimal], tuple[Decimal, Decimal]] = {}

    def visible(self, symbol: str, taker_side: Side, book: BookView) -> Iterator[VisibleLevel]:
        """Yield the levels a ``taker_side`` order meets, best first, minus what we took."""
        levels: Iterable[Level] = book.asks() if taker_side is Side.BUY else book.bids()
        for price, displayed in levels:
            key = (symbol, taker_side, price)
            size = displayed
            taken = self._taken.get(key)
            if taken is not None and taken[0] == displayed:
                size = displayed - taken[1]
            elif taken is not None:
                del self._taken[key]
            if size > 0:
                yield VisibleLevel(price, size, displayed)

    def record(self, symbol: str, taker_side: Side, level: VisibleLevel, qty: Decimal) -> None:
        """Remember that we took ``qty`` at ``level``."""
        key = (symbol, taker_side, level.price)
        shown, taken = self._taken.get(key, (level.displayed, _ZERO))
        if shown != level.displayed:
            taken = _ZERO
        self._taken[key] = (level.displayed, taken + qty)


def within_limit(side: Side, price: Decimal, limit: Decimal | None) -> bool:
    """Tell whether a ``side`` order limited at ``limit`` may trade at ``price``."""
    if limit is None:
        return True
    return price <= limit if side is Side.BUY else price >= limit


def sweep(
    levels: Iterable[VisibleLevel], side: Side, qty: Decimal, limit: Decimal | None
) -> list[tuple[VisibleLevel, Decimal]]:
    """Take levels best first until ``qty`` is done or the limit stops us; return the takes."""
    takes: list[tuple[VisibleLevel, Decimal]] = []
    left = qty
    for level in levels:
        if left <= 0 or not within_limit(side, level.price, limit):
            break
        take = min(left, level.size)
        takes.append((level, take))
        left -= take
    return takes
