"""L2 order book of one symbol, kept from Bybit v5 snapshots and deltas.

Prices are keyed by ``float(price_string)``: the same exchange string always parses to the same
float, so keys are exact without float arithmetic ever producing one. Each side is an ascending
list of prices with an aligned list of sizes, kept sorted with ``bisect``; at Bybit's depths
(≤ 1000 levels) a list insert is a short ``memmove`` and beats tree structures in Python, and the
top N of a side is a C slice (``bench/book.py`` measures the alternatives).

Integrity (the invariants of ``docs/architecture.md``): a snapshot resets the book and makes it
valid; a delta must carry ``u`` = previous ``u`` + 1; an older or equal ``u`` is a duplicate and is
ignored; a larger jump is a gap that invalidates the book until the next snapshot; ``seq`` must
not go backwards; a crossed book is invalid; a frame refused as insane (``core/frame_checks.py``)
invalidates it too, since the stream behind it can no longer be trusted.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

UNTOUCHED: Final = 1 << 30
"""The rank ``BookSide.apply`` returns when no level changed."""
Level = tuple[float, float]
"""``(price, size)`` as floats parsed from the exchange's decimal strings (the decoder does it)."""
Levels = list[Level]


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
    REJECTED = "rejected"


class BookSide:
    """One side of a book: exact price keys, sorted ascending, best at one end.

    ``prices`` (ascending) and ``sizes`` are aligned lists: a level is found by ``bisect`` and
    inserted or deleted by a ``memmove`` of both, so the top N levels of either side are two C
    slices, with no per-level lookups. Bids have their best level last, asks first.
    """

    __slots__ = ("_is_bid", "prices", "sizes")

    def __init__(self, *, is_bid: bool) -> None:
        self._is_bid = is_bid
        self.prices: list[float] = []
        self.sizes: list[float] = []

    def apply(self, levels: Levels) -> int:
        """Set each ``[price, size]`` level (size 0 deletes it); return the best rank it changed.

        Rank 0 is the best level; ``UNTOUCHED`` means no level changed. The rank may be one
        better than the truth for a deletion, never worse: a caller may skip reading the top k
        levels when the rank is ≥ k.
        """
        prices = self.prices
        sizes = self.sizes
        is_bid = self._is_bid
        n = len(prices)
        best = UNTOUCHED
        for price, size in levels:
            i = bisect_left(prices, price)
            if i < n and prices[i] == price:
                if size != 0.0:
                    sizes[i] = size
                else:
                    del prices[i]
                    del sizes[i]
                    n -= 1
            elif size != 0.0:
                prices.insert(i, price)
                sizes.insert(i, size)
                n += 1
            else:
                continue  # deleting a level that is not there changes nothing
            rank = n - 1 - i if is_bid else i  # bids have their best level last
            best = min(best, rank)
        return best

    def load(self, levels: Levels) -> None:
        """Replace every level with ``levels`` (a snapshot: any order, the last of a price wins)."""
        book = dict(levels)
        prices = sorted(price for price, size in book.items() if size != 0.0)
        self.prices[:] = prices
        self.sizes[:] = [book[price] for price in prices]

    def cap(self, depth: int) -> None:
        """Drop the levels furthest from the touch beyond ``depth``."""
        excess = len(self.prices) - depth
        if excess <= 0:
            return
        if self._is_bid:
            del self.prices[:excess]
            del self.sizes[:excess]
        else:
            del self.prices[depth:]
            del self.sizes[depth:]

    def best(self) -> tuple[float, float] | None:
        """Return the best (price, size), or None for an empty side."""
        if not self.prices:
            return None
        i = -1 if self._is_bid else 0
        return self.prices[i], self.sizes[i]

    def top(self, n: int) -> list[tuple[float, float]]:
        """Return up to ``n`` levels, best first."""
        px, sz = self.top_lists(n)
        return list(zip(px, sz, strict=True))

    def top_lists(self, n: int) -> tuple[list[float], list[float]]:
        """Return the prices and sizes of up to ``n`` levels, best first, as two new lists."""
        if self._is_bid:
            stop = -n - 1
            return self.prices[:stop:-1], self.sizes[:stop:-1]
        return self.prices[:n], self.sizes[:n]

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
    rejected: int = 0


class OrderBook:
    """The book of one symbol at one subscription depth, with its integrity state."""

    __slots__ = (
        "asks",
        "best_moved",
        "bids",
        "counters",
        "depth",
        "last_seq",
        "last_ts_ms",
        "last_u",
        "status",
        "symbol",
        "top_moved",
        "window",
    )

    def __init__(self, symbol: str, depth: int, window: int = 0) -> None:
        """Keep ``depth`` levels a side; ``top_moved`` watches the best ``window`` of them."""
        self.symbol = symbol
        self.depth = depth
        self.window = window
        self.top_moved = False
        """Whether the last applied snapshot or delta may have changed the top ``window``."""
        self.best_moved = False
        """Whether it may have changed the best bid or ask (price or size)."""
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.status = BookStatus.EMPTY
        self.last_u = 0
        self.last_seq = 0
        self.last_ts_ms = 0
        self.counters = BookCounters()

    def on_snapshot(self, u: int, seq: int, ts_ms: int, bids: Levels, asks: Levels) -> DeltaOutcome:
        """Reset the book to a snapshot; ``u`` = 1 marks an exchange-side restart."""
        self.counters.snapshots += 1
        if u == 1:
            self.counters.restarts += 1
        self.bids.load(bids)
        self.asks.load(asks)
        self.top_moved = self.best_moved = True
        self._accept(u, seq, ts_ms)
        return self._check_crossed()

    def on_delta(self, u: int, seq: int, ts_ms: int, bids: Levels, asks: Levels) -> DeltaOutcome:
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
        rank = min(self.bids.apply(bids), self.asks.apply(asks))
        self.top_moved = rank < self.window
        self.best_moved = rank < 1  # a deleted best bid may rank -1
        self._accept(u, seq, ts_ms)
        return self._check_crossed()

    def _accept(self, u: int, seq: int, ts_ms: int) -> None:
        depth = self.depth
        if len(self.bids.prices) > depth:
            self.bids.cap(depth)
        if len(self.asks.prices) > depth:
            self.asks.cap(depth)
        self.last_u = u
        self.last_seq = seq
        self.last_ts_ms = ts_ms
        self.status = BookStatus.VALID

    def _check_crossed(self) -> DeltaOutcome:
        bids, asks = self.bids.prices, self.asks.prices  # best bid last, best ask first
        if bids and asks and bids[-1] >= asks[0]:
            self.counters.crossed += 1
            self.status = BookStatus.INVALID
            return DeltaOutcome.CROSSED
        return DeltaOutcome.APPLIED

    def reject(self) -> DeltaOutcome:
        """Count a frame refused as insane and distrust the book until the next snapshot."""
        self.counters.rejected += 1
        self.invalidate()
        return DeltaOutcome.REJECTED

    def invalidate(self) -> None:
        """Mark the book unusable until the next snapshot (e.g. after a restart)."""
        if self.status is BookStatus.VALID:
            self.status = BookStatus.INVALID
