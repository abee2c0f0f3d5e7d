"""Wilder's parabolic stop-and-reverse.

Step for step TA-Lib's SAR (with ``start == step``, TA-Lib's single acceleration factor), so the
two agree on every bar:

- the first value comes on the second bar; the starting direction is short if that bar's
  directional movement is down (prev low - low > 0 and above high - prev high), else long; the
  first SAR is the first bar's low (long) or high (short), the extreme point the second bar's high
  (long) or low (short);
- while the trend holds, ``sar += af * (ep - sar)``; a new extreme raises ``af`` by ``step`` up to
  ``maximum``; the SAR for the next bar never enters the range of this bar or the one before;
- when a bar's low (long) or high (short) reaches the SAR, the trend reverses: the SAR becomes
  the old extreme point (kept outside both bars' ranges) and ``af`` restarts at ``start``.

``value.sar`` is the stop in force for the bar just fed (TA-Lib's output for that bar, the
reversal level on a reversal bar) and ``value.trend`` the direction after that bar; ``next_sar``
is the stop already known for the next bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import Trend, check_positive


@dataclass(frozen=True, slots=True)
class SarPoint:
    """The stop level for one bar and the trend it protects."""

    sar: float
    trend: Trend


class ParabolicSar:
    """Trail a stop that accelerates towards price while a trend makes new extremes."""

    __slots__ = (
        "_af",
        "_count",
        "_ep",
        "_long",
        "_maximum",
        "_prev_high",
        "_prev_low",
        "_sar",
        "_start",
        "_step",
        "_value",
    )

    def __init__(self, start: float = 0.02, step: float = 0.02, maximum: float = 0.2) -> None:
        """Check the acceleration factors: all > 0 and ``start <= maximum``."""
        self._start = check_positive("ParabolicSar", "start", start)
        self._step = check_positive("ParabolicSar", "step", step)
        self._maximum = check_positive("ParabolicSar", "maximum", maximum)
        if start > maximum:
            raise ValueError(f"ParabolicSar start must not exceed maximum, got {start} > {maximum}")
        self._count = 0
        self._long = True
        self._af = start
        self._ep = 0.0
        self._sar = 0.0
        self._prev_high = 0.0
        self._prev_low = 0.0
        self._value: SarPoint | None = None

    @property
    def value(self) -> SarPoint | None:
        """Return the stop for the last bar and the trend, or None before two bars."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether two bars have been seen."""
        return self._value is not None

    @property
    def next_sar(self) -> float | None:
        """Return the stop already set for the next bar, or None before two bars."""
        return self._sar if self._value is not None else None

    def update(self, high: float, low: float) -> SarPoint | None:
        """Fold in the newest bar's range; return its stop and trend (None on the first bar)."""
        count = self._count
        self._count = count + 1
        if count == 0:
            self._prev_high = high
            self._prev_low = low
            return None
        if count == 1:
            self._begin(high, low)
        prev_high = self._prev_high
        prev_low = self._prev_low
        self._prev_high = high
        self._prev_low = low
        if self._long:
            sar = self._step_long(high, low, prev_high, prev_low)
        else:
            sar = self._step_short(high, low, prev_high, prev_low)
        self._value = SarPoint(sar, Trend.UP if self._long else Trend.DOWN)
        return self._value

    def update_candle(self, candle: Candle) -> SarPoint | None:
        """Fold in the bar's high and low."""
        return self.update(candle.high, candle.low)

    def _begin(self, high: float, low: float) -> None:
        # Pick the first direction from the second bar's -DM; TA-Lib then treats the second bar
        # as its own previous bar, which the caller gets by reading the prev_* set here.
        up = high - self._prev_high
        down = self._prev_low - low
        self._long = not (down > 0.0 and down > up)
        self._sar = self._prev_low if self._long else self._prev_high
        self._ep = high if self._long else low
        self._prev_high = high
        self._prev_low = low

    def _step_long(self, high: float, low: float, prev_high: float, prev_low: float) -> float:
        # Return the stop for this bar of a long trend and set the one for the next bar.
        if low <= self._sar:
            self._long = False
            sar = max(self._ep, prev_high, high)
            self._af = self._start
            self._ep = low
            self._sar = max(sar + self._af * (self._ep - sar), prev_high, high)
            return sar
        sar = self._sar
        if high > self._ep:
            self._ep = high
            self._af = min(self._af + self._step, self._maximum)
        self._sar = min(sar + self._af * (self._ep - sar), prev_low, low)
        return sar

    def _step_short(self, high: float, low: float, prev_high: float, prev_low: float) -> float:
        # Return the stop for this bar of a short trend and set the one for the next bar.
        if high >= self._sar:
            self._long = True
            sar = min(self._ep, prev_low, low)
            self._af = self._start
            self._ep = high
            self._sar = min(sar + self._af * (self._ep - sar), prev_low, low)
            return sar
        sar = self._sar
        if low < self._ep:
            self._ep = low
            self._af = min(self._af + self._step, self._maximum)
        self._sar = max(sar + self._af * (self._ep - sar), prev_high, high)
        return sar
