"""Simple and exponential moving averages of closes.

Both agree with TA-Lib's SMA and EMA from their first value on: the EMA is seeded, as TA-Lib
does, with the simple average of its first ``period`` inputs, then follows
``ema = (x - ema) * k + ema`` with ``k = 2 / (period + 1)``.
"""

from __future__ import annotations

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period
from tradestream.core.indicators.window import RollingMoments


class Sma:
    """Average the last ``period`` closes; ready after ``period`` bars."""

    __slots__ = ("_period", "_value", "_window")

    def __init__(self, period: int = 20) -> None:
        """Check the period (>= 1) and allocate the window."""
        self._period = check_period("Sma", "period", period)
        self._window = RollingMoments(period)
        self._value: float | None = None

    @property
    def period(self) -> int:
        """Return the number of bars averaged."""
        return self._period

    @property
    def value(self) -> float | None:
        """Return the average as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period`` bars have been seen."""
        return self._value is not None

    def update(self, x: float) -> float | None:
        """Add the newest value; return the average, or None before ``period`` values."""
        window = self._window
        window.push(x)
        if window.full:
            self._value = window.mean
        return self._value

    def update_candle(self, candle: Candle) -> float | None:
        """Add the bar's close."""
        return self.update(candle.close)


class Ema:
    """Exponentially weight the closes, seeded with their first ``period``-bar simple average."""

    __slots__ = ("_alpha", "_count", "_period", "_seed_sum", "_value")

    def __init__(self, period: int = 20) -> None:
        """Check the period (>= 1); the smoothing factor is ``2 / (period + 1)``."""
        self._period = check_period("Ema", "period", period)
        self._alpha = 2.0 / (period + 1)
        self._count = 0
        self._seed_sum = 0.0
        self._value: float | None = None

    @property
    def period(self) -> int:
        """Return the period the smoothing factor comes from."""
        return self._period

    @property
    def value(self) -> float | None:
        """Return the average as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period`` values have been seen."""
        return self._value is not None

    def update(self, x: float) -> float | None:
        """Fold in the newest value; return the average, or None before ``period`` values."""
        value = self._value
        if value is not None:
            value = (x - value) * self._alpha + value
            self._value = value
            return value
        self._count += 1
        self._seed_sum += x
        if self._count == self._period:
            self._value = self._seed_sum / self._period
        return self._value

    def update_candle(self, candle: Candle) -> float | None:
        """Fold in the bar's close."""
        return self.update(candle.close)
