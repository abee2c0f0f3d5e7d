"""SuperTrend: an ATR band that follows price and flips side when the close crosses it.

Defined as TradingView's ``ta.supertrend`` (the reference most traders read), on Wilder's ATR
(``atr.Atr``, TA-Lib's):

- basic bands: hl2 ± multiplier * ATR, with hl2 = (high + low) / 2;
- the final upper band only moves down, unless the previous close was above it (then it resets
  to the basic band); the final lower band only moves up, unless the previous close was below it;
- the trend turns up when the close rises above the final upper band of a down trend, and down
  when it falls below the final lower band of an up trend;
- the line is the final lower band in an up trend, the upper band in a down trend.

The first value comes with the first ATR (bar ``period + 1``); that bar's bands are the basic
ones and its trend is down, as in TradingView.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.atr import Atr
from tradestream.core.indicators.indicator import Trend, check_period, check_positive


@dataclass(frozen=True, slots=True)
class SuperTrendValue:
    """The SuperTrend line, the trend it marks, and both final bands, as of one bar."""

    line: float
    trend: Trend
    upper: float
    lower: float


class SuperTrend:
    """Follow the trend with a band ``multiplier`` ATRs from the bar's midpoint."""

    __slots__ = ("_atr", "_multiplier", "_prev_close", "_value")

    def __init__(self, period: int = 10, multiplier: float = 3.0) -> None:
        """Check the ATR period (>= 1) and the multiplier (> 0)."""
        check_period("SuperTrend", "period", period)
        self._multiplier = check_positive("SuperTrend", "multiplier", multiplier)
        self._atr = Atr(period)
        self._prev_close = 0.0
        self._value: SuperTrendValue | None = None

    @property
    def value(self) -> SuperTrendValue | None:
        """Return line, trend and bands as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the ATR has its first value."""
        return self._value is not None

    def update(self, high: float, low: float, close: float) -> SuperTrendValue | None:
        """Fold in the newest bar; return the SuperTrend, or None before ``period + 1`` bars."""
        atr = self._atr.update(high, low, close)
        prev_close = self._prev_close
        self._prev_close = close
        if atr is None:
            return None
        mid = (high + low) / 2.0
        upper = mid + self._multiplier * atr
        lower = mid - self._multiplier * atr
        prev = self._value
        if prev is None:
            trend = Trend.DOWN
        else:
            if not (upper < prev.upper or prev_close > prev.upper):
                upper = prev.upper
            if not (lower > prev.lower or prev_close < prev.lower):
                lower = prev.lower
            if prev.trend is Trend.DOWN:
                trend = Trend.UP if close > upper else Trend.DOWN
            else:
                trend = Trend.DOWN if close < lower else Trend.UP
        line = lower if trend is Trend.UP else upper
        self._value = SuperTrendValue(line, trend, upper, lower)
        return self._value

    def update_candle(self, candle: Candle) -> SuperTrendValue | None:
        """Fold in the bar's high, low and close."""
        return self.update(candle.high, candle.low, candle.close)
