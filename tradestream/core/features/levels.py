"""The current and previous top-N book levels, double-buffered in preallocated lists.

Feature code compares consecutive snapshots (order-flow imbalance, level ages, adds/cancels), so
the engine keeps two snapshots and swaps them on every update instead of allocating new lists.
Slots past the last real level hold sentinels that read as "no liquidity": bids at price 0.0,
asks at price +inf, both with size 0.0, which is exactly what the order-flow imbalance formula
needs for a level that appeared or vanished.
"""

from __future__ import annotations

import math
from typing import Final

BID_SENTINEL_PX: Final = 0.0
ASK_SENTINEL_PX: Final = math.inf


class BookSide:
    """Hold one side of one snapshot: prices, sizes and the number of real levels."""

    __slots__ = ("_sentinel_px", "n", "px", "sz")

    def __init__(self, depth: int, sentinel_px: float) -> None:
        """Allocate ``depth`` slots filled with the side's sentinel."""
        self._sentinel_px = sentinel_px
        self.px = [sentinel_px] * depth
        self.sz = [0.0] * depth
        self.n = 0

    def load(self, px: list[float], sz: list[float]) -> None:
        """Copy up to ``depth`` levels (best first) and pad the slots that the last load used."""
        depth = len(self.px)
        n = min(len(px), len(sz), depth)
        if n == len(px) == len(sz):
            self.px[:n] = px
            self.sz[:n] = sz
        else:
            self.px[:n] = px[:n]
            self.sz[:n] = sz[:n]
        for i in range(n, self.n):
            self.px[i] = self._sentinel_px
            self.sz[i] = 0.0
        self.n = n


class BookLevels:
    """Keep the latest and the previous top-N snapshot and swap them on each update."""

    __slots__ = ("ask", "bid", "prev_ask", "prev_bid")

    def __init__(self, depth: int) -> None:
        """Allocate both snapshots with ``depth`` slots per side."""
        self.bid = BookSide(depth, BID_SENTINEL_PX)
        self.ask = BookSide(depth, ASK_SENTINEL_PX)
        self.prev_bid = BookSide(depth, BID_SENTINEL_PX)
        self.prev_ask = BookSide(depth, ASK_SENTINEL_PX)

    def load(
        self,
        bid_px: list[float],
        bid_sz: list[float],
        ask_px: list[float],
        ask_sz: list[float],
    ) -> None:
        """Make the latest snapshot the previous one and load the new levels into the other."""
        self.bid, self.prev_bid = self.prev_bid, self.bid
        self.ask, self.prev_ask = self.prev_ask, self.ask
        self.bid.load(bid_px, bid_sz)
        self.ask.load(ask_px, ask_sz)
