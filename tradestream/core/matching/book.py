"""The read-only view of an L2 book that the matching engine needs, and a static implementation.

The engine only walks levels best first, so any book (the live ``OrderBook``, a replayed
snapshot, a test fixture) can sit behind ``BookView`` through a thin adapter that yields exact
``Decimal`` prices and sizes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from itertools import pairwise
from typing import Protocol

from tradestream.core.errors import BadInputError

Level = tuple[Decimal, Decimal]
"""One price level: ``(price, size)``."""


class BookView(Protocol):
    """Both sides of an L2 book, best level first."""

    def bids(self) -> Iterable[Level]:
        """Return bid levels, highest price first."""
        ...

    def asks(self) -> Iterable[Level]:
        """Return ask levels, lowest price first."""
        ...


class StaticBook:
    """An immutable book from explicit levels, for backtests, the simulator and tests."""

    __slots__ = ("_asks", "_bids")

    def __init__(self, bids: Iterable[Level] = (), asks: Iterable[Level] = ()) -> None:
        self._bids = tuple(bids)
        self._asks = tuple(asks)
        _check_side("bids", self._bids, descending=True)
        _check_side("asks", self._asks, descending=False)

    def bids(self) -> tuple[Level, ...]:
        """Return bid levels, highest price first."""
        return self._bids

    def asks(self) -> tuple[Level, ...]:
        """Return ask levels, lowest price first."""
        return self._asks


def best_bid(book: BookView) -> Decimal | None:
    """Return the highest bid price, or None on an empty side."""
    return next((price for price, _ in book.bids()), None)


def best_ask(book: BookView) -> Decimal | None:
    """Return the lowest ask price, or None on an empty side."""
    return next((price for price, _ in book.asks()), None)


def mid_price(book: BookView) -> Decimal | None:
    """Return the mid price, or None unless both sides have a level."""
    bid, ask = best_bid(book), best_ask(book)
    if bid is None or ask is None:
        return None
    return (bid + ask) / 2


# A book with unsorted or empty levels would make every walk wrong, so refuse it at the door.
def _check_side(name: str, levels: tuple[Level, ...], *, descending: bool) -> None:
    for price, size in levels:
        if price <= 0 or size <= 0:
            raise BadInputError(f"{name}: level {price} x {size} needs positive price and size")
    prices = [price for price, _ in levels]
    ordered = all(a > b if descending else a < b for a, b in pairwise(prices))
    if not ordered:
        order = "descending" if descending else "ascending"
        raise BadInputError(f"{name}: prices must be strictly {order}, got {prices}")
