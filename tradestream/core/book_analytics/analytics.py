"""One symbol's order-book analytics, updated from book updates and trades, read as a vector.

``on_book`` takes the best ``config.levels`` levels per side (best first, the lists
``BookSide.top_lists`` returns) and does the per-update work: the side medians, the cluster scan
and the watch on large orders. ``on_trade`` files a trade against the traded-volume profile, the
absorption episodes and the watched orders. Reading (``values``, ``fill``, ``as_dict``) evicts
what left the time windows and writes the vector. Time is event time in integer ms; the clock is
the latest time seen, and an event stamped earlier is recorded at the clock (as in
``FeatureEngine``), so windows stay monotone.
"""

from __future__ import annotations

from typing import Final

from tradestream.core.book_analytics.absorption import AbsorptionTracker
from tradestream.core.book_analytics.clusters import ClusterTracker, SideView
from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.book_analytics.spoofing import SpoofDetector
from tradestream.core.book_analytics.trade_levels import TradeLevels
from tradestream.core.features.registry import FeatureSpec

_NO_EVENT: Final = -(2**62)


class BookAnalytics:
    """Keep one symbol's clusters, trade levels, spoofing and absorption features current."""

    def __init__(self, config: AnalyticsConfig | None = None) -> None:
        """Set up every tracker for ``config`` (the default config if omitted)."""
        self.config = config if config is not None else AnalyticsConfig()
        self._levels = self.config.levels
        self._clusters = ClusterTracker(self.config)
        self._trade_levels = TradeLevels(self.config)
        self._spoofs = SpoofDetector(self.config)
        self._absorption = AbsorptionTracker(self.config)
        self.specs: tuple[FeatureSpec, ...] = (
            *self._clusters.specs,
            *self._trade_levels.specs,
            *self._spoofs.specs,
            *self._absorption.specs,
        )
        self.names: tuple[str, ...] = tuple(spec.name for spec in self.specs)
        self._at_trade_levels = len(self._clusters.specs)
        self._at_spoofs = self._at_trade_levels + len(self._trade_levels.specs)
        self._at_absorption = self._at_spoofs + len(self._spoofs.specs)
        self._out = [0.0] * len(self.specs)
        self._now = _NO_EVENT
        self._mid = 0.0

    def __len__(self) -> int:
        """Return the number of features."""
        return len(self._out)

    def on_book(
        self,
        ts_ms: int,
        bid_px: list[float],
        bid_sz: list[float],
        ask_px: list[float],
        ask_sz: list[float],
    ) -> None:
        """Take the best levels per side at ``ts_ms`` (best first); call it after a book change.

        Levels must have positive, finite prices and sizes, as the order book keeps them; only
        the first ``config.levels`` per side are read.
        """
        now = self._tick(ts_ms)
        bid = SideView(bid_px, bid_sz, self._levels)
        ask = SideView(ask_px, ask_sz, self._levels)
        self._mid = 0.5 * (bid_px[0] + ask_px[0]) if bid.n and ask.n else 0.0
        self._clusters.update(now, bid, ask)
        self._spoofs.update(now, bid, ask)
        self._absorption.update(bid_px, bid_sz, ask_px, ask_sz)

    def on_trade(self, ts_ms: int, price: float, size: float, is_buy: bool) -> None:
        """Take one public trade (positive price and size); ``is_buy`` is the taker side."""
        now = self._tick(ts_ms)
        self._trade_levels.on_trade(now, price, size)
        self._spoofs.on_trade(price, is_buy)
        self._absorption.on_trade(now, price, size, is_buy)

    def on_clock(self, ts_ms: int) -> None:
        """Advance time without an event (e.g. a book update that left the scanned levels)."""
        self._tick(ts_ms)

    def reset_book(self) -> None:
        """Forget the watched orders and episodes before a rebuilt book (a resync snapshot).

        Diffing a rebuilt book against the old one would fake vanished orders; events already
        counted and the trade profile stay, since the market they describe did not restart.
        """
        self._spoofs.forget()
        self._absorption.forget()

    def values(self) -> list[float]:
        """Return a copy of the current vector, ordered as ``names``."""
        self._refresh()
        return self._out.copy()

    def as_dict(self) -> dict[str, float]:
        """Return the current vector as ``{name: value}``, for the scalper, logs and tests."""
        self._refresh()
        return dict(zip(self.names, self._out, strict=True))

    def _tick(self, ts_ms: int) -> int:
        # Advance the clock monotonically.
        self._now = max(self._now, ts_ms)
        return self._now

    def _refresh(self) -> None:
        # Bring every windowed feature to the clock and write the vector.
        now = self._now
        if now == _NO_EVENT:
            return
        out = self._out
        self._clusters.write(now, self._mid, out, 0)
        self._trade_levels.write(now, self._mid, out, self._at_trade_levels)
        self._spoofs.write(now, out, self._at_spoofs)
        self._absorption.write(now, out, self._at_absorption)


DEFAULT_ANALYTICS_CONFIG = AnalyticsConfig()
ANALYTICS_SPECS: tuple[FeatureSpec, ...] = BookAnalytics(DEFAULT_ANALYTICS_CONFIG).specs
ANALYTICS_NAMES: tuple[str, ...] = tuple(spec.name for spec in ANALYTICS_SPECS)
