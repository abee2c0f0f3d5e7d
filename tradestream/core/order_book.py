"""L2 order book of one symbol, kept from Bybit v5 snapshots and deltas.

Prices are keyed by ``float(price_string)``: the same exchange string always parses to the same
float, so keys are exact without float arithmetic ever producing one. Each side is a dict
(price → size) plus an ascending list of prices kept sorted with ``bisect``; at Bybit's depths
(≤ 1000 levels) the list insert is a short ``memmove`` and beats tree structures in Python.

Integrity (the invariants of ``docs/architecture.md``): a snapshot resets the book and makes it
valid; a delta must carry ``u`` = previous ``u`` + 1; an older or equal ``u`` is a duplicate and is
ignored; a larger jump is a gap that invalidates the book until the next snapshot; ``seq`` must
not go backwards; a crossed book is invalid.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

# [price, size] as the exchange's decimal strings or as floats parsed from them (the decoder's).
Level = Sequence[str] | Sequence[float]


class BookStatus(StrEnum):
    """Whether a book may be read by anything that trades."""

    EMPTY = "empty"
    VALID = "valid"
    INVALID = "invalid"


class DeltaOutcome(StrEnum):
    """What a delta did to the book, so the caller can count it and react."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    GAP = "gap"
    SEQ_REGRESSION = "seq_regression"
    CROSSED = "crossed"
    NOT_READY = "not_ready"


class BookSide:
    """One side of a book: exact price keys, sorted ascending, best at one end."""

    __slots__ = ("_is_bid", "prices", "sizes")

    def __init__(self, *, is_bid: bool) -> None:
        self._is_bid = is_bid
        self.prices: list[float] = []
        self.sizes: dict[float, float] = {}

    def clear(self) -> None:
        """Forget every level."""
        self.prices.clear()
        self.sizes.clear()

    def apply(self, levels: Iterable[Level]) -> None:
        """Set each ``[price, size]`` level; size 0 deletes the level."""
        sizes = self.sizes
        prices = self.prices
        for price_text, size_text in levels:
            price = float(price_text)
            size = float(size_text)
            if size == 0.0:
                if sizes.pop(price, None) is not None:
                    del prices[bisect_left(prices, price)]
            else:
                if price not in sizes:
                    insort(prices, price)
                sizes[price] = size

    def cap(self, depth: int) -> None:
        """Drop the levels furthest from the touch beyond ``depth``."""
        excess = len(self.prices) - depth
        if excess <= 0:
            return
        dropped = self.prices[:excess] if self._is_bid else self.prices[-excess:]
        if self._is_bid:
            del self.prices[:excess]
        else:
            del self.prices[-excess:]
        for price in dropped:
            del self.sizes[price]

    def best(self) -> tuple[float, float] | None:
        """Return the best (price, size), or None for an empty side."""
        if not self.prices:
            return None
        price = self.prices[-1] if self._is_bid else self.prices[0]
        return price, self.sizes[price]

    def top(self, n: int) -> list[tuple[float, float]]:
        """Return up to ``n`` levels, best first."""
        prices = self.prices[: -n - 1 : -1] if self._is_bid else self.prices[:n]
        sizes = self.sizes
        return [(p, sizes[p]) for p in prices]

    def __len__(self) -> int:
        return len(self.prices)


@dataclass(slots=True)
class BookCounters:
    """Integrity counters of one book, exported as metrics and in the status table."""

    snapshots: int = 0
    restarts: int = 0
    deltas: int = 0
    duplicates: int = 0
    gaps: int = 0
    seq_regressions: int = 0
    crossed: int = 0
    not_ready: int = 0


class OrderBook:
    """The book of one symbol at one subscription depth, with its integrity state."""

    __slots__ = (
        "asks",
        "bids",
        "counters",
        "depth",
        "last_seq",
        "last_ts_ms",
        "last_u",
        "status",
        "symbol",
    )

    def __init__(self, symbol: str, depth: int) -> None:
        self.symbol = symbol
        self.depth = depth
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.status = BookStatus.EMPTY
        self.last_u = 0
        self.last_seq = 0
        self.last_ts_ms = 0
        self.counters = BookCounters()

    def on_snapshot(
        self, u: int, seq: int, ts_ms: int, bids: Iterable[Level], asks: Iterable[Level]
    ) -> DeltaOutcome:
        """Reset the book to a snapshot; ``u`` = 1 marks an exchange-side restart."""
        self.counters.snapshots += 1
        if u == 1:
            self.counters.restarts += 1
        self.bids.clear()
        self.asks.clear()
        self.bids.apply(bids)
        self.asks.apply(asks)
        self._accept(u, seq, ts_ms)
        return self._check_crossed()

    def on_delta(
        self, u: int, seq: int, ts_ms: int, bids: Iterable[Level], asks: Iterable[Level]
    ) -> DeltaOutcome:
        """Apply a delta if it continues the book, otherwise say why it did not."""
        counters = self.counters
        if self.status is not BookStatus.VALID:
            counters.not_ready += 1
            return DeltaOutcome.NOT_READY
        if u <= self.last_u:
            counters.duplicates += 1
            return DeltaOutcome.DUPLICATE
        if u != self.last_u + 1:
            counters.gaps += 1
            self.status = BookStatus.INVALID
            return DeltaOutcome.GAP
        if seq < self.last_seq:
            counters.seq_regressions += 1
            self.status = BookStatus.INVALID
            return DeltaOutcome.SEQ_REGRESSION
        counters.deltas += 1
        self.bids.apply(bids)
        self.asks.apply(asks)
        self._accept(u, seq, ts_ms)
        return self._check_crossed()

    def _accept(self, u: int, seq: int, ts_ms: int) -> None:
        self.bids.cap(self.depth)
        self.asks.cap(self.depth)
        self.last_u = u
        self.last_seq = seq
        self.last_ts_ms = ts_ms
        self.status = BookStatus.VALID

    def _check_crossed(self) -> DeltaOutcome:
        bid = self.bids.best()
        ask = self.asks.best()
        if bid is not None and ask is not None and bid[0] >= ask[0]:
            self.counters.crossed += 1
            self.status = BookStatus.INVALID
            return DeltaOutcome.CROSSED
        return DeltaOutcome.APPLIED

    def invalidate(self) -> None:
        """Mark the book unusable until the next snapshot (e.g. after a restart)."""
        if self.status is BookStatus.VALID:
            self.status = BookStatus.INVALID
