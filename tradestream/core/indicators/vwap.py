"""Volume-weighted average price: since a session start, and over the last N bars.

VWAP = Σ price·volume / Σ volume. From candles the price is the bar's typical price
(high + low + close) / 3, the usual choice when only OHLCV is known; ``update`` takes any price
(e.g. turnover / volume where the exchange reports turnover).

- ``SessionVwap`` accumulates since the last reset: ``reset()`` by hand, and automatically when a
  bar opens in a new session, sessions being ``session_ms`` long counted from the Unix epoch
  (daily at 00:00 UTC by default; ``session_ms=None`` resets only by hand).
- ``RollingVwap`` covers the last ``period`` bars and is ready once it has them.

Both keep their sums with ``ExactSum``: a session's sums never drift, and the rolling sums equal
``math.fsum`` over the window bit for bit. A VWAP over no volume is undefined and reads None.
"""

from __future__ import annotations

from collections import deque

from tradestream.core.candles import Candle
from tradestream.core.indicators.exact_sum import ExactSum
from tradestream.core.indicators.indicator import check_period

DAY_MS = 86_400_000


def typical_price(candle: Candle) -> float:
    """Return (high + low + close) / 3, the price a bar's whole volume is taken to trade at."""
    return (candle.high + candle.low + candle.close) / 3.0


class SessionVwap:
    """Average price by volume since the session began (or since ``reset``)."""

    __slots__ = ("_notional", "_session", "_session_ms", "_value", "_volume")

    def __init__(self, session_ms: int | None = DAY_MS) -> None:
        """Check the session length (>= 1 ms, or None for manual resets only)."""
        if session_ms is not None:
            check_period("SessionVwap", "session_ms", session_ms)
        self._session_ms = session_ms
        self._session: int | None = None
        self._notional = ExactSum()
        self._volume = ExactSum()
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Return the VWAP since the session start, or None while it has seen no volume."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the session has traded any volume."""
        return self._value is not None

    def reset(self) -> None:
        """Start a new session now."""
        self._notional.clear()
        self._volume.clear()
        self._value = None

    def update(self, price: float, volume: float, ts_ms: int = 0) -> float | None:
        """Add a bar that opened at ``ts_ms`` (starting a new session if it opened in one)."""
        if self._session_ms is not None:
            session = ts_ms // self._session_ms
            if session != self._session:
                self._session = session
                self.reset()
        self._notional.add(price * volume)
        self._volume.add(volume)
        total = self._volume.value
        self._value = self._notional.value / total if total > 0.0 else None
        return self._value

    def update_candle(self, candle: Candle) -> float | None:
        """Add the bar at its typical price, in the session of its open time."""
        return self.update(typical_price(candle), candle.volume, candle.open_ts_ms)


class RollingVwap:
    """Average price by volume over the last ``period`` bars; ready after ``period`` bars."""

    __slots__ = ("_bars", "_notional", "_period", "_value", "_volume")

    def __init__(self, period: int = 60) -> None:
        """Check the period (>= 1)."""
        self._period = check_period("RollingVwap", "period", period)
        self._bars: deque[tuple[float, float]] = deque()
        self._notional = ExactSum()
        self._volume = ExactSum()
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Return the VWAP of the window, or None while warming up or without volume."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the window is full and traded any volume."""
        return self._value is not None

    def update(self, price: float, volume: float) -> float | None:
        """Add the newest bar, dropping the oldest; return the window's VWAP."""
        notional = price * volume
        bars = self._bars
        bars.append((notional, volume))
        self._notional.add(notional)
        self._volume.add(volume)
        if len(bars) > self._period:
            old_notional, old_volume = bars.popleft()
            self._notional.add(-old_notional)
            self._volume.add(-old_volume)
        if len(bars) < self._period:
            return None
        total = self._volume.value
        self._value = self._notional.value / total if total > 0.0 else None
        return self._value

    def update_candle(self, candle: Candle) -> float | None:
        """Add the bar at its typical price."""
        return self.update(typical_price(candle), candle.volume)
