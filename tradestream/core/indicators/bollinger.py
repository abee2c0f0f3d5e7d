"""Bollinger bands and the z-score of the close against them.

The middle band is the simple average of the last ``period`` closes and the bands sit
``k`` population standard deviations (divide by N, as TA-Lib's BBANDS) above and below it. The
z-score is ``(close - middle) / std``: how many standard deviations the close is from the mean,
so the close touches a band at z = ±k.

A window of equal closes has no spread: std is 0.0, the three bands coincide, and the z-score is
0.0 (the close *is* the mean), not an infinity or None.

The variance comes from ``window.RollingMoments`` (shifted sums, exactly recomputed once per
window, no drift). The tests hold the bands to TA-Lib's BBANDS and the standard deviation and
z-score to an exactly rounded two-pass computation, each within 1e-9 relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period, check_positive
from tradestream.core.indicators.window import RollingMoments


@dataclass(frozen=True, slots=True)
class BollingerBands:
    """The bands as of one bar, with the standard deviation and the close's z-score."""

    middle: float
    upper: float
    lower: float
    std: float
    zscore: float


class Bollinger:
    """Track the mean and spread of the last ``period`` closes; ready after ``period`` bars."""

    __slots__ = ("_k", "_period", "_value", "_window")

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        """Check the period (>= 2) and the band width ``k`` (> 0 standard deviations)."""
        self._period = check_period("Bollinger", "period", period, minimum=2)
        self._k = check_positive("Bollinger", "k", k)
        self._window = RollingMoments(period)
        self._value: BollingerBands | None = None

    @property
    def value(self) -> BollingerBands | None:
        """Return the bands as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period`` closes have been seen."""
        return self._value is not None

    def update(self, close: float) -> BollingerBands | None:
        """Add the newest close; return the bands, or None before ``period`` closes."""
        window = self._window
        window.push(close)
        if not window.full:
            return None
        middle = window.mean
        std = math.sqrt(window.variance)
        width = self._k * std
        zscore = (close - middle) / std if std > 0.0 else 0.0
        self._value = BollingerBands(middle, middle + width, middle - width, std, zscore)
        return self._value

    def update_candle(self, candle: Candle) -> BollingerBands | None:
        """Add the bar's close."""
        return self.update(candle.close)
