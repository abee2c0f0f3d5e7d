"""Keep the simulator's own order book per symbol and the capped views it serves.

The server is the source of truth for every book it streams: it applies each update from the
source to its own book, answers new subscribers with a snapshot of that book, and derives the
shallower depths (1, 50) from the deepest one by diffing the capped view before and after each
update. Tests compare a client's rebuilt book against this one, so it keeps prices and sizes as
the exact strings that went on the wire.

A level is ``(key, price, size)``: ``key`` is an exact integer that sorts best-first on its side
(the negated scaled price for bids, the scaled price for asks), so both sides share one ordering.
A size of ``"0"`` deletes the level, as on Bybit.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from tradestream.core.errors import BadInputError

Level = tuple[int, str, str]
"""One price level: (best-first sort key, price string, size string)."""

PRICE_SCALE = 10
"""Decimal places kept exact in a level key; Bybit linear prices use at most eight."""

DELETE = "0"


def price_key(price: str, *, bid: bool) -> int:
    """Turn a price string into the exact best-first key for its side."""
    try:
        scaled = Decimal(price).scaleb(PRICE_SCALE)
    except InvalidOperation as exc:
        raise BadInputError(f"not a price: {price!r}") from exc
    if scaled != scaled.to_integral_value():
        raise BadInputError(f"price {price!r} has more than {PRICE_SCALE} decimals")
    return -int(scaled) if bid else int(scaled)


def make_level(price: str, size: str, *, bid: bool) -> Level:
    """Build a level from wire strings, writing any zero size as the delete marker."""
    try:
        zero = Decimal(size) == 0
    except InvalidOperation as exc:
        raise BadInputError(f"not a size: {size!r}") from exc
    return (price_key(price, bid=bid), price, DELETE if zero else size)


class BookSide:
    """Hold one side as a sorted key list plus a key → (price, size) map.

    Keys stay sorted so the top ``n`` levels are a slice; inserts and deletes cost a bisect and a
    memmove, which keeps applying a typical 20-level delta to a 200-level side in microseconds.
    """

    __slots__ = ("_keys", "_levels")

    def __init__(self) -> None:
        self._keys: list[int] = []
        self._levels: dict[int, Level] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def apply(self, levels: Iterable[Level]) -> None:
        """Apply delta levels: insert, replace, or delete on size ``"0"``."""
        keys = self._keys
        book = self._levels
        for level in levels:
            key = level[0]
            if level[2] == DELETE:
                if book.pop(key, None) is not None:
                    del keys[bisect_left(keys, key)]
                continue
            if key not in book:
                insort(keys, key)
            book[key] = level

    def replace(self, levels: Iterable[Level]) -> None:
        """Reset the side to exactly the given (non-deleting) levels."""
        self._keys.clear()
        self._levels.clear()
        self.apply(levels)

    def __contains__(self, key: int) -> bool:
        return key in self._levels

    def best(self) -> int | None:
        """Return the best level's key, or None if the side is empty."""
        return self._keys[0] if self._keys else None

    def worst(self) -> int | None:
        """Return the worst level's key, or None if the side is empty."""
        return self._keys[-1] if self._keys else None

    def price(self, key: int) -> str:
        """Return the price string stored for a key."""
        return self._levels[key][1]

    def level(self, key: int) -> Level:
        """Return the level stored for a key."""
        return self._levels[key]

    def top_keys(self, depth: int) -> list[int]:
        """Return the keys of the best ``depth`` levels, best first."""
        return self._keys[:depth]

    def top(self, depth: int) -> list[Level]:
        """Return the best ``depth`` levels, best first."""
        book = self._levels
        return [book[key] for key in self._keys[:depth]]

    def changes_to(self, target: Sequence[Level]) -> list[Level]:
        """Return the delta levels that turn this side into ``target``, best first."""
        wanted = {level[0]: level for level in target if level[2] != DELETE}
        changes = [
            (key, level[1], DELETE) for key, level in self._levels.items() if key not in wanted
        ]
        changes.extend(level for key, level in wanted.items() if self._levels.get(key) != level)
        changes.sort()
        return changes


class Book:
    """Hold both sides of one symbol's book."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids = BookSide()
        self.asks = BookSide()

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Apply one delta to both sides."""
        self.bids.apply(bids)
        self.asks.apply(asks)

    def replace(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Reset the book to a snapshot."""
        self.bids.replace(bids)
        self.asks.replace(asks)


class DepthView:
    """Track which top ``depth`` levels a derived topic's subscribers hold and diff the book.

    Bybit caps each depth independently: a level that leaves the top 50 of ``orderbook.50`` is
    sent as a delete, and the level that slides in is sent as an insert. Comparing the key sets
    of the capped view before and after each update reproduces exactly that, so a client applying
    the derived deltas holds the book's top levels. Only keys are kept: set differences run in C,
    which keeps derived depths cheap enough for the hot path.
    """

    __slots__ = ("_asks", "_bids", "depth")

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self._bids: set[int] = set()
        self._asks: set[int] = set()

    def reset(self, book: Book) -> None:
        """Take the book's current top levels as what the subscribers now hold."""
        self._bids = set(book.bids.top_keys(self.depth))
        self._asks = set(book.asks.top_keys(self.depth))

    def update(
        self, book: Book, bids: Sequence[Level], asks: Sequence[Level]
    ) -> tuple[list[Level], list[Level]] | None:
        """Move the view to the book's new top levels; return the changes, or None if unchanged.

        ``bids``/``asks`` are the levels the book just applied; a side whose changes all lie
        below a full view cannot have moved, which skips the diff for many updates.
        """
        bid_changes = self._side(self._bids, book.bids, bids)
        ask_changes = self._side(self._asks, book.asks, asks)
        if not bid_changes and not ask_changes:
            return None
        return bid_changes, ask_changes

    def _side(self, view: set[int], side: BookSide, applied: Sequence[Level]) -> list[Level]:
        if not applied:
            return []
        if len(view) == self.depth and min(level[0] for level in applied) > max(view):
            return []
        now = set(side.top_keys(self.depth))
        left = view - now
        shown = (now - view) | (now & {level[0] for level in applied})
        if not left and not shown:
            return []
        gone = {key: price for key, price, size in applied if size == DELETE}
        changes = [(key, side.price(key) if key in side else gone[key], DELETE) for key in left]
        changes.extend(side.level(key) for key in shown)
        changes.sort()
        view.clear()
        view.update(now)
        return changes
