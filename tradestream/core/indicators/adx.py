"""Wilder's directional movement: +DI, -DI and the average directional index (ADX).

Computed step for step as TA-Lib's ADX, PLUS_DI and MINUS_DI (default compatibility), so they
agree from the first value on:

- directional movement of a bar: up = high - prev high, down = prev low - low; +DM = up if
  up > down and up > 0, -DM = down if down > up and down > 0, else 0 (an inside bar or a tie
  moves neither);
- +DM, -DM and the true range are summed over the first ``period - 1`` bars after the first, then
  smoothed as Wilder's running sums ``s = s - s / period + x``;
- +DI = 100 * +DM_s / TR_s (and -DI alike), from bar ``period + 1`` on;
- DX = 100 * |+DI - -DI| / (+DI + -DI); the first ADX is the mean of the first ``period`` DX
  (on bar ``2 * period``), then ``adx = (adx * (period - 1) + dx) / period``.

A flat market (smoothed true range exactly 0) has no direction: both DI are 0.0 and DX is
undefined, so that bar leaves the ADX as it was (it counts as a 0 in the first mean), as in
TA-Lib, whose zero test is ``|x| < 1e-14`` rather than exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.atr import true_range
from tradestream.core.indicators.indicator import check_period


@dataclass(frozen=True, slots=True)
class DirectionalIndex:
    """ADX (trend strength, 0-100) and the two directional indicators it comes from."""

    adx: float
    plus_di: float
    minus_di: float


class Adx:
    """Track trend strength and direction.

    +DI and -DI are ready after ``period + 1`` bars, the ADX after ``2 * period``.
    """

    __slots__ = (
        "_adx",
        "_count",
        "_minus_di",
        "_minus_dm",
        "_period",
        "_plus_di",
        "_plus_dm",
        "_prev_close",
        "_prev_high",
        "_prev_low",
        "_sum_dx",
        "_tr",
        "_value",
    )

    def __init__(self, period: int = 14) -> None:
        """Check the period (>= 1)."""
        self._period = check_period("Adx", "period", period)
        self._count = 0
        self._prev_high = 0.0
        self._prev_low = 0.0
        self._prev_close = 0.0
        self._plus_dm = 0.0
        self._minus_dm = 0.0
        self._tr = 0.0
        self._sum_dx = 0.0
        self._adx = 0.0
        self._plus_di: float | None = None
        self._minus_di: float | None = None
        self._value: DirectionalIndex | None = None

    @property
    def value(self) -> DirectionalIndex | None:
        """Return ADX, +DI and -DI as of the last bar, or None before ``2 * period`` bars."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the ADX has its first value."""
        return self._value is not None

    @property
    def plus_di(self) -> float | None:
        """Return +DI as of the last bar, or None before ``period + 1`` bars."""
        return self._plus_di

    @property
    def minus_di(self) -> float | None:
        """Return -DI as of the last bar, or None before ``period + 1`` bars."""
        return self._minus_di

    def update(self, high: float, low: float, close: float) -> DirectionalIndex | None:
        """Fold in the newest bar; return ADX and the DIs, or None before ``2 * period`` bars."""
        count = self._count
        self._count = count + 1
        if count == 0:
            self._remember(high, low, close)
            return None
        up = high - self._prev_high
        down = self._prev_low - low
        plus_dm = up if up > 0.0 and up > down else 0.0
        minus_dm = down if down > 0.0 and down > up else 0.0
        tr = true_range(high, low, self._prev_close)
        self._remember(high, low, close)
        period = self._period
        if count < period:
            self._plus_dm += plus_dm
            self._minus_dm += minus_dm
            self._tr += tr
            return None
        self._plus_dm = self._plus_dm - self._plus_dm / period + plus_dm
        self._minus_dm = self._minus_dm - self._minus_dm / period + minus_dm
        self._tr = self._tr - self._tr / period + tr
        dx = self._directional_index()
        return self._smooth(count, dx)

    def update_candle(self, candle: Candle) -> DirectionalIndex | None:
        """Fold in the bar's high, low and close."""
        return self.update(candle.high, candle.low, candle.close)

    def _remember(self, high: float, low: float, close: float) -> None:
        self._prev_high = high
        self._prev_low = low
        self._prev_close = close

    def _directional_index(self) -> float | None:
        # Set both DI from the smoothed sums; return DX, or None where it is undefined.
        if self._tr == 0.0:
            self._plus_di = 0.0
            self._minus_di = 0.0
            return None
        plus_di = 100.0 * (self._plus_dm / self._tr)
        minus_di = 100.0 * (self._minus_dm / self._tr)
        self._plus_di = plus_di
        self._minus_di = minus_di
        total = minus_di + plus_di
        if total == 0.0:
            return None
        return 100.0 * (abs(minus_di - plus_di) / total)

    def _smooth(self, count: int, dx: float | None) -> DirectionalIndex | None:
        # Average the first ``period`` DX, then smooth; bar ``count`` is 0-based.
        period = self._period
        if count < 2 * period - 1:
            if dx is not None:
                self._sum_dx += dx
            return None
        if count == 2 * period - 1:
            if dx is not None:
                self._sum_dx += dx
            self._adx = self._sum_dx / period
        elif dx is not None:
            self._adx = (self._adx * (period - 1) + dx) / period
        plus_di = self._plus_di
        minus_di = self._minus_di
        if plus_di is None or minus_di is None:
            return None  # unreachable: both DI are set from bar ``period`` on
        self._value = DirectionalIndex(self._adx, plus_di, minus_di)
        return self._value
