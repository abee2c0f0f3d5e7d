"""Wilder's relative strength index.

Computed as TA-Lib's RSI (default compatibility): the average gain and loss start as the simple
averages of the first ``period`` close-to-close changes, then follow Wilder's smoothing
``avg = (avg * (period - 1) + x) / period``; RSI = 100 * gain / (gain + loss). The first value
comes on bar ``period + 1``, as TA-Lib's, and the two agree from there on (TA-Lib's "unstable
period" only matters when it is asked to start later than its first possible value).

Where ours differs on purpose: a window without any change (gain + loss == 0) reads 50.0,
neutral, where TA-Lib reports 0.0, which would look like an extreme oversold reading.
"""

from __future__ import annotations

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period

NEUTRAL = 50.0


class Rsi:
    """Measure the share of recent moves that were up, on a 0-100 scale."""

    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_period", "_prev", "_value")

    def __init__(self, period: int = 14) -> None:
        """Check the period (>= 1)."""
        self._period = check_period("Rsi", "period", period)
        self._count = 0
        self._prev = 0.0
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Return the RSI as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period + 1`` closes have been seen."""
        return self._value is not None

    def update(self, close: float) -> float | None:
        """Fold in the newest close; return the RSI, or None before ``period + 1`` closes."""
        count = self._count
        self._count = count + 1
        change = close - self._prev
        self._prev = close
        if count == 0:
            return None
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        period = self._period
        if count <= period:
            self._avg_gain += gain
            self._avg_loss += loss
            if count < period:
                return None
            self._avg_gain /= period
            self._avg_loss /= period
        else:
            self._avg_gain = (self._avg_gain * (period - 1) + gain) / period
            self._avg_loss = (self._avg_loss * (period - 1) + loss) / period
        total = self._avg_gain + self._avg_loss
        self._value = 100.0 * (self._avg_gain / total) if total > 0.0 else NEUTRAL
        return self._value

    def update_candle(self, candle: Candle) -> float | None:
        """Fold in the bar's close."""
        return self.update(candle.close)
