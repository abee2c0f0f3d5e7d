"""One symbol's feature vector, updated incrementally from book updates and trades.

The engine owns a preallocated output list. Work is split by when it is needed: ``on_book``
does only what must see every book update (it records the changes since the previous snapshot:
OFI, level ages, adds/cancels, mid and microprice returns); ``on_trade`` records a trade; reading
the vector (``values``, ``fill``, ``as_dict``) evicts whatever left the time windows and computes
the snapshot features (depth, notional, imbalance, impact, slope) from the latest top-N, once per
book update however often it is read. A publisher that reads every 100 ms thus skips the snapshot
work of the updates in between, with the same values as reading after every update.

Time is event time in integer milliseconds, passed in by the caller. The engine's clock is the
latest timestamp seen; an event stamped earlier than the clock (book and trade timestamps come
from different Bybit fields and may interleave slightly out of order) is recorded at the clock,
so that every window stays monotone and every age is ≥ 0.
"""

from __future__ import annotations

from typing import Final, Protocol

from tradestream.core.features.book_dynamics import BookDynamics
from tradestream.core.features.book_features import BookFeatures, top_prices
from tradestream.core.features.config import FeatureConfig
from tradestream.core.features.flow_features import TradeFlow
from tradestream.core.features.levels import BookLevels
from tradestream.core.features.registry import FeatureSpec
from tradestream.core.features.volatility import Volatility

# Below any real epoch-millisecond timestamp: marks "no such event yet".
_NO_EVENT: Final = -(2**62)  # fits a native (tagged) int when compiled


class FloatBuffer(Protocol):
    """A preallocated vector whose slice accepts a list: a ``list`` or a 1-D numpy array."""

    def __len__(self) -> int:
        """Return the number of elements."""
        ...

    def __setitem__(self, index: slice, value: list[float], /) -> None:
        """Overwrite the elements selected by ``index``."""
        ...


def timing_specs() -> list[FeatureSpec]:
    """List the event-timing features in vector order."""
    return [
        FeatureSpec(
            "trade_age_ms",
            "t - time of the last trade",
            "ms",
            "t - time of the first event before any trade",
        ),
        FeatureSpec(
            "book_age_ms",
            "t - time of the last book update",
            "ms",
            "t - time of the first event before any book update",
        ),
        FeatureSpec(
            "book_interval_ms",
            "time of the last book update - time of the one before",
            "ms",
            "0.0 before the second book update",
        ),
    ]


def feature_specs(config: FeatureConfig) -> tuple[FeatureSpec, ...]:
    """Return the specs of every feature the config produces, in vector order."""
    return FeatureEngine(config).specs


class FeatureEngine:
    """Keep one symbol's order-book and trade-flow features current, event by event."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        """Allocate every buffer up front for ``config`` (the default config if omitted)."""
        self.config = config if config is not None else FeatureConfig()
        self._levels = BookLevels(self.config.levels)
        self._book = BookFeatures(self.config, 0)
        base = len(self._book.specs)
        self._dynamics = BookDynamics(self.config, base)
        base += len(self._dynamics.specs)
        self._flow = TradeFlow(self.config, base)
        base += len(self._flow.specs)
        self._volatility = Volatility(self.config, base)
        base += len(self._volatility.specs)
        self._timing_at = base
        self.specs: tuple[FeatureSpec, ...] = (
            *self._book.specs,
            *self._dynamics.specs,
            *self._flow.specs,
            *self._volatility.specs,
            *timing_specs(),
        )
        self.names: tuple[str, ...] = tuple(spec.name for spec in self.specs)
        self._out = [0.0] * len(self.specs)
        self._now = _NO_EVENT
        self._first = _NO_EVENT
        self._last_book = _NO_EVENT
        self._previous_book = _NO_EVENT
        self._last_trade = _NO_EVENT
        self._snapshot_stale = False

    def __len__(self) -> int:
        """Return the number of features, the length of every vector the engine hands out."""
        return len(self._out)

    def on_book(
        self,
        ts_ms: int,
        bid_px: list[float],
        bid_sz: list[float],
        ask_px: list[float],
        ask_sz: list[float],
    ) -> None:
        """Take the current top-N levels at ``ts_ms``; call it after every book change.

        Levels come best first with positive, finite prices and sizes, as the order book keeps
        them (the hot path does not re-check); only the first ``config.levels`` per side are read.
        """
        now = self._tick(ts_ms)
        levels = self._levels
        levels.load(bid_px, bid_sz, ask_px, ask_sz)
        self._snapshot_stale = True
        self._dynamics.update(now, levels, self._out)
        mid, microprice = top_prices(levels.bid, levels.ask)
        self._volatility.update(now, mid, microprice)
        self._previous_book = self._last_book
        self._last_book = now

    def on_book_unchanged(self, ts_ms: int) -> None:
        """Take a book update at ``ts_ms`` that left the top-N levels as they were.

        Gives the values ``on_book`` would give with the same levels again, without diffing
        them: most deltas of a deep book change levels below the top N. Call ``on_book`` first.
        """
        now = self._tick(ts_ms)
        self._dynamics.repeat(now, self._out)
        self._volatility.repeat(now)
        self._previous_book = self._last_book
        self._last_book = now

    def on_trade(self, ts_ms: int, price: float, size: float, is_buy: bool) -> None:
        """Take one public trade; ``is_buy`` is the taker side (Bybit ``S == "Buy"``).

        Raises:
            BadInputError: the price or size is not positive and finite.
        """
        now = ts_ms if ts_ms > self._now else self._now
        self._flow.on_trade(now, price, size, is_buy)
        self._tick(ts_ms)
        self._last_trade = now

    def on_clock(self, ts_ms: int) -> None:
        """Advance time without an event, so that a timer can read aged windows and ages."""
        self._tick(ts_ms)

    def reset_book(self) -> None:
        """Treat the next book update as a fresh snapshot, e.g. after a resync.

        Diffing a rebuilt book against the old one would show fake order flow; trade and return
        windows stay, since the market they describe did not restart.
        """
        self._dynamics.forget_previous()

    def values(self) -> list[float]:
        """Return a copy of the current vector, ordered as ``names``."""
        self._refresh()
        return self._out.copy()

    def fill(self, out: FloatBuffer) -> None:
        """Write the current vector into ``out`` (a list or a 1-D float numpy array).

        Raises:
            ValueError: ``out`` does not have exactly ``len(self)`` elements.
        """
        if len(out) != len(self._out):
            raise ValueError(f"out has {len(out)} elements, the vector has {len(self._out)}")
        self._refresh()
        out[:] = self._out

    def as_dict(self) -> dict[str, float]:
        """Return the current vector as ``{name: value}``, for logs, tests and notebooks."""
        self._refresh()
        return dict(zip(self.names, self._out, strict=True))

    def _tick(self, ts_ms: int) -> int:
        # Advance the clock monotonically and remember when the first event arrived.
        if self._first == _NO_EVENT:
            self._first = ts_ms
        self._now = max(self._now, ts_ms)
        return self._now

    def _refresh(self) -> None:
        # Bring the windowed and age features to the clock; the rest is current already.
        now = self._now
        out = self._out
        if now == _NO_EVENT:
            return
        if self._snapshot_stale:
            self._book.update(self._levels, out)
            self._snapshot_stale = False
        self._dynamics.refresh(now, out)
        self._flow.refresh(now, self._book.mid, out)
        self._volatility.refresh(now, out)
        at = self._timing_at
        out[at] = float(now - (self._last_trade if self._last_trade != _NO_EVENT else self._first))
        out[at + 1] = float(
            now - (self._last_book if self._last_book != _NO_EVENT else self._first)
        )
        if self._previous_book != _NO_EVENT:
            out[at + 2] = float(self._last_book - self._previous_book)


DEFAULT_CONFIG = FeatureConfig()
FEATURE_SPECS: tuple[FeatureSpec, ...] = feature_specs(DEFAULT_CONFIG)
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURE_SPECS)
