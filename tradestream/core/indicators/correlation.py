"""Rolling Pearson correlation: of two series, of two symbols' returns, and across symbols.

``RollingCorrelation`` correlates the last N pairs it is given, as TA-Lib's CORREL does.
``ReturnCorrelation`` takes two prices per bar and correlates their simple returns
(p_t / p_{t-1} - 1) over the last N bars: prices themselves trend, and two trending series
correlate whatever their moves. ``CorrelationMatrix`` keeps that for every pair of a set of
symbols, fed one bar of all of them at a time.

The sums come from ``window.RollingCovariance`` (shifted, exactly recomputed once per window, so
no drift). A window where either side is constant has no correlation; it reads 0.0 (as TA-Lib),
not None, so None only ever means "still warming up".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

from tradestream.core.candles import Candle
from tradestream.core.indicators.indicator import check_period
from tradestream.core.indicators.window import RollingCovariance


class RollingCorrelation:
    """Correlate the last ``period`` (x, y) pairs; ready after ``period`` pairs."""

    __slots__ = ("_period", "_value", "_window")

    def __init__(self, period: int = 30) -> None:
        """Check the period (>= 2)."""
        self._period = check_period("RollingCorrelation", "period", period, minimum=2)
        self._window = RollingCovariance(period)
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """Return the correlation as of the last pair, or None while warming up."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether ``period`` pairs have been seen."""
        return self._value is not None

    def update(self, x: float, y: float) -> float | None:
        """Add the newest pair; return Pearson's r of the window, in [-1, 1]."""
        window = self._window
        window.push(x, y)
        if window.full:
            self._value = window.correlation
        return self._value


class ReturnCorrelation:
    """Correlate two symbols' bar returns over ``period`` bars; ready after ``period + 1`` bars."""

    __slots__ = ("_correlation", "_prev_a", "_prev_b", "_started")

    def __init__(self, period: int = 30) -> None:
        """Check the period (>= 2 returns)."""
        self._correlation = RollingCorrelation(period)
        self._started = False
        self._prev_a = 0.0
        self._prev_b = 0.0

    @property
    def value(self) -> float | None:
        """Return the correlation as of the last bar, or None while warming up."""
        return self._correlation.value

    @property
    def ready(self) -> bool:
        """Return whether ``period`` returns of each side have been seen."""
        return self._correlation.ready

    def update(self, price_a: float, price_b: float) -> float | None:
        """Add both symbols' prices (> 0) for the same bar; return the returns' correlation."""
        prev_a = self._prev_a
        prev_b = self._prev_b
        self._prev_a = price_a
        self._prev_b = price_b
        if not self._started:
            self._started = True
            return None
        return self._correlation.update(price_a / prev_a - 1.0, price_b / prev_b - 1.0)

    def update_candles(self, a: Candle, b: Candle) -> float | None:
        """Add the closes of the two symbols' bars that opened at the same time."""
        if a.open_ts_ms != b.open_ts_ms:
            raise ValueError(
                f"ReturnCorrelation needs bars of the same time, got {a.symbol} at "
                f"{a.open_ts_ms} and {b.symbol} at {b.open_ts_ms}"
            )
        return self.update(a.close, b.close)


class CorrelationMatrix:
    """Keep the rolling return correlation of every pair of ``symbols``."""

    __slots__ = ("_pairs", "_symbols")

    def __init__(self, symbols: Sequence[str], period: int = 30) -> None:
        """Check the symbols (two or more, distinct) and the period (>= 2)."""
        if len(symbols) < 2 or len(set(symbols)) != len(symbols):
            raise ValueError(f"CorrelationMatrix needs two or more distinct symbols, got {symbols}")
        check_period("CorrelationMatrix", "period", period, minimum=2)
        self._symbols = tuple(symbols)
        self._pairs = {pair: ReturnCorrelation(period) for pair in combinations(self._symbols, 2)}

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols, in the order given."""
        return self._symbols

    def update(self, closes: Mapping[str, float]) -> None:
        """Add one bar's close of every symbol (extra symbols are ignored)."""
        missing = [s for s in self._symbols if s not in closes]
        if missing:
            raise ValueError(f"CorrelationMatrix update lacks closes for {missing}")
        for (a, b), correlation in self._pairs.items():
            correlation.update(closes[a], closes[b])

    def update_candles(self, candles: Iterable[Candle]) -> None:
        """Add one bar of every symbol; all must have opened at the same time."""
        bars = list(candles)
        times = {c.open_ts_ms for c in bars}
        if len(times) > 1:
            raise ValueError(f"CorrelationMatrix needs bars of one time, got {sorted(times)}")
        self.update({c.symbol: c.close for c in bars})

    def correlation(self, a: str, b: str) -> float | None:
        """Return the correlation of two symbols' returns (1.0 for a symbol with itself)."""
        if a == b and a in self._symbols:
            return 1.0
        pair = self._pairs.get((a, b)) or self._pairs.get((b, a))
        if pair is None:
            raise KeyError(f"CorrelationMatrix does not track {a!r} and {b!r}")
        return pair.value

    def matrix(self) -> dict[str, dict[str, float | None]]:
        """Return every correlation as rows by symbol, None where still warming up."""
        return {a: {b: self.correlation(a, b) for b in self._symbols} for a in self._symbols}
