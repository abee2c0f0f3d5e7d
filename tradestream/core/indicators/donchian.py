"""Donchian channel: the highest high and lowest low of the last N bars, and their midpoint.

The window includes the bar just fed, as TA-Lib's MAX and MIN do; a breakout rule compares a close
with the channel of the bars *before* it, so it reads ``value`` before feeding the new bar.

Each extreme is kept with a monotonic queue (bar index, price): a new high pops every queued high
it beats, so the front is always the window's maximum and each bar is pushed and popped at most
once, O(1) amortised.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period


@dataclass(frozen=True, slots=True)
class DonchianChannel:
    """The channel of the last N bars."""

    upper: float
    lower: float
    middle: float


class Donchian:
    """Track the range of the last ``period`` bars; ready after ``period`` bars."""

    __slots__ = ("_count", "_highs", "_lows", "_period", "_value")

    def __init__(self, period: int = 20) -> None:
        """Check the period (>= 1)."""
        self._period = check_period("Donchian", "period", period)
        self._count = 0
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()
        self._value: DonchianChannel | None = None

    @property
    def value(self) -> DonchianChannel | None:
        """Return the channel as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period`` bars have been seen."""
        return self._value is not None

    def update(self, high: float, low: float) -> DonchianChannel | None:
        """Add the newest bar's range; return the channel, or None before ``period`` bars."""
        index = self._count
        self._count = index + 1
        oldest = index - self._period
        highs = self._highs
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((index, high))
        if highs[0][0] <= oldest:
            highs.popleft()
        lows = self._lows
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((index, low))
        if lows[0][0] <= oldest:
            lows.popleft()
        if index + 1 < self._period:
            return None
        upper = highs[0][1]
        lower = lows[0][1]
        self._value = DonchianChannel(upper, lower, (upper + lower) / 2.0)
        return self._value

    def update_candle(self, candle: Candle) -> DonchianChannel | None:
        """Add the bar's high and low."""
        return self.update(candle.high, candle.low)
