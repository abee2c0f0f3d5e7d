"""No look-ahead, no hidden history: after k bars an indicator holds exactly what a fresh one fed
only those k bars holds, bit for bit, for every k.

The bars are drawn from a coarse price grid so that ties, inside bars, flat stretches and
reversals are common, and the periods are short so that every warm-up ends and every ring buffer
wraps (and rebases) within the sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import astuple, is_dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.candles import Candle
from tradestream.core.indicators import (
    Adx,
    Atr,
    Bollinger,
    CorrelationMatrix,
    Donchian,
    Ema,
    Macd,
    ParabolicSar,
    ReturnCorrelation,
    RollingCorrelation,
    RollingVwap,
    Rsi,
    SessionVwap,
    Sma,
    SuperTrend,
    VolumeProfile,
)


def _matrix(matrix: CorrelationMatrix, candle: Candle) -> object:
    matrix.update({"a": candle.close, "b": candle.high, "c": candle.low})
    return matrix.matrix()


# name -> (make a fresh indicator, feed it one bar and return what it reports)
Feed = Callable[[Any, Candle], object]
SPECS: dict[str, tuple[Callable[[], Any], Feed]] = {
    "sma": (lambda: Sma(4), lambda i, c: i.update_candle(c)),
    "ema": (lambda: Ema(4), lambda i, c: i.update_candle(c)),
    "rsi": (lambda: Rsi(3), lambda i, c: i.update_candle(c)),
    "atr": (lambda: Atr(3), lambda i, c: i.update_candle(c)),
    "bollinger": (lambda: Bollinger(4, 2.0), lambda i, c: i.update_candle(c)),
    "adx": (lambda: Adx(3), lambda i, c: (i.update_candle(c), i.plus_di, i.minus_di)),
    "macd": (lambda: Macd(2, 5, 3), lambda i, c: (i.update_candle(c), i.line)),
    "sar": (ParabolicSar, lambda i, c: (i.update_candle(c), i.next_sar)),
    "supertrend": (lambda: SuperTrend(3, 2.0), lambda i, c: i.update_candle(c)),
    "donchian": (lambda: Donchian(4), lambda i, c: i.update_candle(c)),
    "session_vwap": (lambda: SessionVwap(session_ms=300_000), lambda i, c: i.update_candle(c)),
    "rolling_vwap": (lambda: RollingVwap(4), lambda i, c: i.update_candle(c)),
    "volume_profile": (
        lambda: VolumeProfile(5, 0.5),
        lambda i, c: (i.update_candle(c), i.volumes()),
    ),
    "rolling_correlation": (lambda: RollingCorrelation(4), lambda i, c: i.update(c.close, c.high)),
    "return_correlation": (lambda: ReturnCorrelation(4), lambda i, c: i.update(c.close, c.low)),
    "correlation_matrix": (lambda: CorrelationMatrix(["a", "b", "c"], 4), _matrix),
}

# The indicators fed one candle at a time (the correlations take pairs of series).
CANDLE_FED = sorted(name for name, (make, _) in SPECS.items() if hasattr(make(), "update_candle"))


@st.composite
def candles(draw: st.DrawFn) -> list[Candle]:
    """Draw up to 40 one-minute bars on a 0.25 grid around 100, with some zero volumes."""
    grid = st.integers(0, 24)
    rows = draw(st.lists(st.tuples(grid, grid, grid, st.integers(0, 4)), min_size=1, max_size=40))
    out = []
    for k, (a, b, c, v) in enumerate(rows):
        low, close, high = sorted(100.0 + 0.25 * x for x in (a, b, c))
        out.append(Candle("X", 60, k * 60_000, close, high, low, close, 1.5 * v))
    return out


def fingerprint(reported: object) -> str:
    """Return a text that differs whenever any float differs in any bit (repr round-trips)."""
    return repr(reported)


def finite(reported: object) -> bool:
    """Return whether no float in what was reported is NaN or infinite."""
    if isinstance(reported, float):
        return math.isfinite(reported)
    if is_dataclass(reported) and not isinstance(reported, type):
        return all(finite(x) for x in astuple(reported))
    if isinstance(reported, tuple | list):
        return all(finite(x) for x in reported)
    if isinstance(reported, dict):
        return all(finite(x) for x in reported.values())
    return True


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=30, deadline=None)
@given(bars=candles())
def test_after_k_bars_equals_a_fresh_instance_fed_k_bars(name: str, bars: list[Candle]) -> None:
    make, feed = SPECS[name]
    running = make()
    for k in range(1, len(bars) + 1):
        seen = feed(running, bars[k - 1])
        assert finite(seen), seen
        fresh = make()
        for candle in bars[: k - 1]:
            feed(fresh, candle)
        assert fingerprint(feed(fresh, bars[k - 1])) == fingerprint(seen), k


@pytest.mark.parametrize("name", CANDLE_FED)
def test_value_repeats_what_update_returned(name: str) -> None:
    make, _ = SPECS[name]
    indicator = make()
    for k in range(30):
        price = 100.0 + (k * 7 % 11) * 0.5
        candle = Candle("X", 60, k * 60_000, price, price + 1.0, price - 1.5, price, 2.0)
        assert indicator.update_candle(candle) == indicator.value
        assert indicator.ready == (indicator.value is not None)
    assert indicator.ready
