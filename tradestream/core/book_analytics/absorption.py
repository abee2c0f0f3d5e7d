"""Absorption: a best level that keeps trading far more than it shows and does not give way.

An *episode* of a side is the time its best price stays the same; it starts afresh whenever the
best price changes, so a level that gives way ends its episode. Within an episode the level's
reference size is the largest size it displayed. The *absorption ratio* is the taker volume that
traded at that price against it (taker sells at the best bid, taker buys at the best ask) in the
last ``absorption_window_ms``, divided by the reference size: 3 means the level was traded through
three times its displayed size and still holds (an iceberg, or a participant refilling it).
"""

from __future__ import annotations

from collections import deque
from typing import Final

from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.features.registry import FeatureSpec, window_suffix

_NO_PRICE: Final = -1.0


def absorption_specs(config: AnalyticsConfig) -> list[FeatureSpec]:
    """List the absorption features in vector order."""
    w = window_suffix(config.absorption_window_ms)
    specs = []
    for side, taker in (("bid", "sells"), ("ask", "buys")):
        ratio = (
            f"Σ size of taker {taker} at the best {side} price in the last {w} of the current "
            f"episode / largest size the best {side} displayed in the episode (episode: the "
            f"best {side} price unchanged)"
        )
        specs += [
            FeatureSpec(f"absorption_{side}_ratio", ratio, "ratio ≥ 0", "0.0 with no such trade"),
            FeatureSpec(
                f"absorption_{side}",
                f"1 if absorption_{side}_ratio ≥ {config.absorption_multiple}, else 0",
                "flag",
            ),
        ]
    return specs


class _Episode:
    # The current best price of one side, its largest displayed size, and the trades at it.
    __slots__ = ("price", "reference", "trades", "volume")

    def __init__(self) -> None:
        self.price = _NO_PRICE
        self.reference = 0.0
        self.trades: deque[tuple[int, float]] = deque()
        self.volume = 0.0

    def on_best(self, price: float, size: float) -> None:
        if price != self.price:
            self.price = price
            self.reference = size
            self.trades.clear()
            self.volume = 0.0
        elif size > self.reference:
            self.reference = size

    def end(self) -> None:
        self.price = _NO_PRICE
        self.trades.clear()
        self.volume = 0.0

    def ratio(self, start: int) -> float:
        trades = self.trades
        while trades and trades[0][0] <= start:
            self.volume -= trades.popleft()[1]
        if not trades:
            self.volume = 0.0
            return 0.0
        return self.volume / self.reference if self.reference > 0.0 else 0.0


class AbsorptionTracker:
    """Measure how much each side's best level absorbed, update by update and trade by trade."""

    def __init__(self, config: AnalyticsConfig) -> None:
        """Judge absorption as ``config`` says."""
        self._window = config.absorption_window_ms
        self._multiple = config.absorption_multiple
        self.specs = absorption_specs(config)
        self._bid = _Episode()
        self._ask = _Episode()

    def update(
        self, bid_px: list[float], bid_sz: list[float], ask_px: list[float], ask_sz: list[float]
    ) -> None:
        """Take the best levels (an empty side ends its episode)."""
        if bid_px:
            self._bid.on_best(bid_px[0], bid_sz[0])
        else:
            self._bid.end()
        if ask_px:
            self._ask.on_best(ask_px[0], ask_sz[0])
        else:
            self._ask.end()

    def on_trade(self, now: int, price: float, size: float, is_buy: bool) -> None:
        """Count a trade against the best level it hit, if it hit the current one."""
        episode = self._ask if is_buy else self._bid
        if price == episode.price:
            episode.trades.append((now, size))
            episode.volume += size

    def forget(self) -> None:
        """End both episodes (the book was rebuilt)."""
        self._bid.end()
        self._ask.end()

    def write(self, now: int, out: list[float], at: int) -> None:
        """Write the absorption features at ``out[at:]`` as of ``now``."""
        start = now - self._window
        for k, episode in enumerate((self._bid, self._ask)):
            ratio = episode.ratio(start)
            out[at + 2 * k] = ratio
            out[at + 2 * k + 1] = 1.0 if ratio >= self._multiple else 0.0
