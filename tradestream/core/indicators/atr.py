"""True range and Wilder's average true range.

ATR is computed as TA-Lib's: true ranges start on the second bar (they need the previous close),
the first ATR is the simple average of the first ``period`` of them (on bar ``period + 1``), and
then ``atr = (atr * (period - 1) + tr) / period``. The two agree from the first value on.
"""

from __future__ import annotations

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period


def true_range(high: float, low: float, prev_close: float) -> float:
    """Return the bar's range widened to include a gap from the previous close."""
    return max(high - low, abs(prev_close - high), abs(prev_close - low))


class Atr:
    """Average the true range with Wilder's smoothing; ready after ``period + 1`` bars."""

    __slots__ = ("_count", "_period", "_prev_close", "_sum", "_value")

    def __init__(self, period: int = 14) -> None:
        """Check the period (>= 1)."""
        self._period = check_period("Atr", "period", period)
        self._count = 0
        self._prev_close = 0.0
        self._sum = 0.0
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Return the ATR as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period + 1`` bars have been seen."""
        return self._value is not None

    def update(self, high: float, low: float, close: float) -> float | None:
        """Fold in the newest bar; return the ATR, or None before ``period + 1`` bars."""
        count = self._count
        self._count = count + 1
        prev_close = self._prev_close
        self._prev_close = close
        if count == 0:
            return None
        tr = true_range(high, low, prev_close)
        value = self._value
        period = self._period
        if value is not None:
            value = (value * (period - 1) + tr) / period
        else:
            self._sum += tr
            if count < period:
                return None
            value = self._sum / period
        self._value = value
        return value

    def update_candle(self, candle: Candle) -> float | None:
        """Fold in the bar's high, low and close."""
        return self.update(candle.high, candle.low, candle.close)
