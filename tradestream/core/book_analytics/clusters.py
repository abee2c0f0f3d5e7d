"""Volume clusters of the book, the support and resistance they make, and breakouts through them.

A side's *typical level* is the median size of its best ``levels`` levels; a *cluster* is a level
whose size exceeds ``cluster_multiple`` typical levels. The largest bid cluster is the book's
support, the largest ask cluster its resistance. A *breakout* up is the market bidding at or above
the price of the last resistance seen (its size was taken or pulled and the price went through
it); a breakdown is the market offering at or below the last support.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Final

from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.features.registry import FeatureSpec, window_suffix

BPS: Final = 1e4
_NONE: Final = -(2**62)  # below any epoch-millisecond time: "never"


class SideView:
    """One side as the trackers take it: prices and sizes best first, and their size order."""

    __slots__ = ("n", "ordered", "px", "sz", "typical")

    def __init__(self, px: list[float], sz: list[float], levels: int) -> None:
        """Read the first ``levels`` levels (fewer if the side is shorter)."""
        n = min(len(px), levels)
        self.px = px
        self.sz = sz
        self.n = n
        self.ordered = sorted(sz[:n])
        self.typical = self.ordered[n // 2] if n else 0.0
        """The median size of the levels read (the upper one for an even count)."""


def cluster_specs(config: AnalyticsConfig) -> list[FeatureSpec]:
    """List the cluster and breakout features in vector order."""
    k, n = config.cluster_multiple, config.levels
    rule = f"cluster: level i ≤ {n} with q_i > {k} · median(q_1..q_{n}) of its side"
    none = "0.0 when the side has no cluster"
    memory = window_suffix(config.breakout_memory_ms)
    specs = []
    for side, sign in (("bid", "mid - p_c"), ("ask", "p_c - mid")):
        specs += [
            FeatureSpec(
                f"cluster_{side}_px_dist_bps",
                f"10^4 · ({sign}) / mid, p_c = price of the largest {side} cluster "
                f"({'support' if side == 'bid' else 'resistance'}); {rule}",
                "bps",
                none,
            ),
            FeatureSpec(
                f"cluster_{side}_size_ratio",
                f"q_c / median(q_1..q_{n}) of the largest {side} cluster",
                "ratio",
                none,
            ),
            FeatureSpec(f"cluster_{side}_count", f"number of {side} clusters; {rule}", "levels"),
        ]
    return [
        *specs,
        FeatureSpec(
            "cluster_breakout_up",
            f"1 if in the last {memory} the best bid reached the price of the last resistance "
            f"(largest ask cluster, seen within {memory} before), else 0",
            "flag",
        ),
        FeatureSpec(
            "cluster_breakout_down",
            f"1 if in the last {memory} the best ask reached the price of the last support "
            f"(largest bid cluster, seen within {memory} before), else 0",
            "flag",
        ),
    ]


class _SideClusters:
    # The largest cluster of one side as of the latest update, and the last one seen.
    __slots__ = ("count", "price", "ratio", "remembered_at", "remembered_px")

    def __init__(self) -> None:
        self.price = 0.0
        self.ratio = 0.0
        self.count = 0
        self.remembered_px = 0.0
        self.remembered_at = _NONE

    def update(self, now: int, side: SideView, k: float) -> None:
        self.price = self.ratio = 0.0
        self.count = 0
        n, ordered = side.n, side.ordered
        cut = k * side.typical
        if n == 0 or cut <= 0.0 or ordered[-1] <= cut:
            return
        largest = ordered[-1]
        self.count = n - bisect_right(ordered, cut)
        self.price = side.px[side.sz.index(largest, 0, n)]
        self.ratio = largest / side.typical
        self.remembered_px = self.price
        self.remembered_at = now


class ClusterTracker:
    """Keep both sides' largest clusters and the breakouts through them, update by update."""

    def __init__(self, config: AnalyticsConfig) -> None:
        """Track clusters as ``config`` defines them."""
        self._multiple = config.cluster_multiple
        self._memory_ms = config.breakout_memory_ms
        self.specs = cluster_specs(config)
        self._bid = _SideClusters()
        self._ask = _SideClusters()
        self._up_at = _NONE
        self._down_at = _NONE

    def update(
        self,
        now: int,
        bid: SideView,
        ask: SideView,
    ) -> None:
        """Take both sides of the book after an update."""
        k = self._multiple
        self._bid.update(now, bid, k)
        self._ask.update(now, ask, k)
        if not bid.n or not ask.n:
            return
        best_bid, best_ask = bid.px[0], ask.px[0]
        memory = self._memory_ms
        resistance = self._ask
        if resistance.remembered_at > now - memory and best_bid >= resistance.remembered_px:
            self._up_at = now
            resistance.remembered_at = _NONE
        support = self._bid
        if support.remembered_at > now - memory and best_ask <= support.remembered_px:
            self._down_at = now
            support.remembered_at = _NONE

    def write(self, now: int, mid: float, out: list[float], at: int) -> None:
        """Write the cluster features at ``out[at:]`` as of ``now`` around ``mid``."""
        bid, ask = self._bid, self._ask
        has_mid = mid > 0.0
        out[at] = BPS * (mid - bid.price) / mid if bid.count and has_mid else 0.0
        out[at + 1] = bid.ratio
        out[at + 2] = float(bid.count)
        out[at + 3] = BPS * (ask.price - mid) / mid if ask.count and has_mid else 0.0
        out[at + 4] = ask.ratio
        out[at + 5] = float(ask.count)
        since = now - self._memory_ms
        out[at + 6] = 1.0 if self._up_at > since else 0.0
        out[at + 7] = 1.0 if self._down_at > since else 0.0
