"""Spoofing and layering heuristics: large orders behind the touch that vanish untraded.

A *large order* is a level behind the touch (rank > ``touch_levels``) whose size exceeds
``spoof_multiple`` typical levels of its side (the median of its best ``levels``). It is tracked
from the update it appears in. A *spoof event* is a tracked large order that, within
``spoof_max_life_ms`` of appearing,

- vanishes: its price leaves the book, or its size falls below half its largest size, while the
  price is still inside the scanned levels (a level that merely scrolled out of view is dropped
  without an event);
- without trading: no trade printed at or through its price (a taker sell at or below a bid's
  price, a taker buy at or above an ask's) since it appeared;
- and without the market reaching it: it was never within the touch levels.

*Layering* is spoof events at ``layering_min_levels`` or more distinct prices of one side within
``layering_window_ms``. Heuristics, not proof: they say that displayed size is not to be trusted.
"""

from __future__ import annotations

from collections import deque

from tradestream.core.book_analytics.clusters import SideView
from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.features.registry import FeatureSpec, window_suffix


def spoof_specs(config: AnalyticsConfig) -> list[FeatureSpec]:
    """List the spoofing and layering features in vector order."""
    w = window_suffix(config.spoof_window_ms)
    lw = window_suffix(config.layering_window_ms)
    event = (
        f"spoof event: a level behind the best {config.touch_levels} with size > "
        f"{config.spoof_multiple} · median size of its side's best {config.levels}, gone (or "
        f"halved) untraded within {config.spoof_max_life_ms} ms of appearing"
    )
    specs = [
        FeatureSpec(
            f"spoof_{side}_events_{w}", f"number of {side} spoof events in W; {event}", "events"
        )
        for side in ("bid", "ask")
    ]
    specs.append(FeatureSpec(f"spoof_events_{w}", "spoof bid + ask events in W", "events"))
    specs += [
        FeatureSpec(
            f"layering_{side}",
            f"1 if {side} spoof events in the last {lw} hit ≥ {config.layering_min_levels} "
            "distinct prices, else 0",
            "flag",
        )
        for side in ("bid", "ask")
    ]
    return specs


class _SideSpoofs:
    # Large orders being watched on one side (price -> [appeared at, peak size, traded]) and
    # the spoof events seen (time, price), oldest first.
    __slots__ = ("events", "is_bid", "orders")

    def __init__(self, *, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.orders: dict[float, list[float]] = {}
        self.events: deque[tuple[int, float]] = deque()

    def on_trade(self, price: float, is_buy: bool) -> None:
        # A taker sell at or below a bid (a taker buy at or above an ask) may have filled it.
        if is_buy == self.is_bid:
            return
        for level, order in self.orders.items():
            if (price <= level) if self.is_bid else (price >= level):
                order[2] = 1.0


class SpoofDetector:
    """Count spoof events and flag layering per side, update by update."""

    def __init__(self, config: AnalyticsConfig) -> None:
        """Judge orders as ``config`` says."""
        self._touch = config.touch_levels
        self._multiple = config.spoof_multiple
        self._max_life = config.spoof_max_life_ms
        self._window = config.spoof_window_ms
        self._layering_window = config.layering_window_ms
        self._layering_min = config.layering_min_levels
        self.specs = spoof_specs(config)
        self._bid = _SideSpoofs(is_bid=True)
        self._ask = _SideSpoofs(is_bid=False)

    def update(
        self,
        now: int,
        bid: SideView,
        ask: SideView,
    ) -> None:
        """Take both sides of the book after an update."""
        self._update_side(self._bid, now, bid)
        self._update_side(self._ask, now, ask)

    def on_trade(self, price: float, is_buy: bool) -> None:
        """Mark the large orders a trade at ``price`` may have filled."""
        self._bid.on_trade(price, is_buy)
        self._ask.on_trade(price, is_buy)

    def forget(self) -> None:
        """Stop watching every order (the book was rebuilt; events already seen stay)."""
        self._bid.orders.clear()
        self._ask.orders.clear()

    def _update_side(self, side: _SideSpoofs, now: int, view: SideView) -> None:
        px, sz, n, touch = view.px, view.sz, view.n, self._touch
        orders = side.orders
        if orders:
            present = dict(zip(px[touch:n], sz[touch:n], strict=True))
            ended = []
            for price, order in orders.items():
                size = present.get(price, 0.0)
                if size >= 0.5 * order[1]:  # still resting behind the touch: the common case
                    order[1] = max(order[1], size)
                    continue
                ended.append(price)
                if self._is_spoof(side.is_bid, order, price, view, now):
                    side.events.append((now, price))
            for price in ended:
                del orders[price]
        cut = self._multiple * view.typical
        if cut <= 0.0 or view.ordered[-1] <= cut:
            return
        for price, size in zip(px[touch:n], sz[touch:n], strict=True):
            if size > cut and price not in orders:
                orders[price] = [float(now), size, 0.0]

    def _is_spoof(
        self, is_bid: bool, order: list[float], price: float, view: SideView, now: int
    ) -> bool:
        # An order that left its place behind the touch is a spoof if it went young, untraded,
        # and without the market reaching it or it scrolling out of the levels read.
        px, n, touch = view.px, view.n, self._touch
        if order[2] or now - order[0] > self._max_life or n <= touch:
            return False
        if price in px[:touch]:
            return False  # the market came to it
        inner, outer = px[touch - 1], px[n - 1]
        return outer < price < inner if is_bid else inner < price < outer

    def write(self, now: int, out: list[float], at: int) -> None:
        """Write the spoofing features at ``out[at:]`` as of ``now``."""
        start = now - self._window
        layering_start = now - self._layering_window
        for k, side in enumerate((self._bid, self._ask)):
            events = side.events
            while events and events[0][0] <= start:
                events.popleft()
            out[at + k] = float(len(events))
            recent = {price for ts, price in events if ts > layering_start}
            out[at + 3 + k] = 1.0 if len(recent) >= self._layering_min else 0.0
        out[at + 2] = out[at] + out[at + 1]
