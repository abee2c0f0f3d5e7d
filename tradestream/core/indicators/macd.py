"""Moving average convergence/divergence: line, signal and histogram.

line = EMA(fast) - EMA(slow), signal = EMA(signal) of the line, histogram = line - signal, each EMA
seeded with a simple average (``moving_average.Ema``).

Seeded as TA-Lib's MACD, so the two agree from the first value on: TA-Lib starts the fast EMA
``slow - fast`` bars late, so that both EMAs get their first value on the same bar (the fast
one's seed is the average of the ``fast`` closes up to that bar); the signal EMA is then seeded
with the first ``signal`` line values. The first full value comes on bar ``slow + signal - 1``
(34 for 12/26/9); ``line`` alone is available from bar ``slow`` on.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period
from tradestream.core.indicators.moving_average import Ema


@dataclass(frozen=True, slots=True)
class MacdValue:
    """The MACD line, its signal line and their difference, as of one bar."""

    line: float
    signal: float
    histogram: float


class Macd:
    """Track the gap between a fast and a slow EMA of the closes, and its own EMA."""

    __slots__ = ("_fast", "_line", "_signal", "_skip", "_slow", "_value")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        """Check the periods: each >= 1 and ``fast < slow``."""
        check_period("Macd", "fast", fast)
        check_period("Macd", "slow", slow)
        check_period("Macd", "signal", signal)
        if fast >= slow:
            raise ValueError(f"Macd fast period must be below the slow one, got {fast} >= {slow}")
        self._fast = Ema(fast)
        self._slow = Ema(slow)
        self._signal = Ema(signal)
        self._skip = slow - fast
        self._line: float | None = None
        self._value: MacdValue | None = None

    @property
    def value(self) -> MacdValue | None:
        """Return line, signal and histogram as of the last bar, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the signal line has its first value."""
        return self._value is not None

    @property
    def line(self) -> float | None:
        """Return the MACD line as of the last bar, or None before ``slow`` bars."""
        return self._line

    def update(self, close: float) -> MacdValue | None:
        """Fold in the newest close; return the three values, or None while warming up."""
        if self._skip > 0:
            self._skip -= 1
            fast = None
        else:
            fast = self._fast.update(close)
        slow = self._slow.update(close)
        if fast is None or slow is None:
            return None
        line = fast - slow
        self._line = line
        signal = self._signal.update(line)
        if signal is None:
            return None
        self._value = MacdValue(line, signal, line - signal)
        return self._value

    def update_candle(self, candle: Candle) -> MacdValue | None:
        """Fold in the bar's close."""
        return self.update(candle.close)
