"""The recorded 1-minute klines as candles and numpy columns, and the agreement check.

Loaded once per test process (each file is 43,200 bars); read-only for the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tradestream.backtest.klines import read_klines
from tradestream.core.candles import Candle

KLINES = Path(__file__).resolve().parents[3] / "fixtures" / "klines"
# BTC at ~1e5 stresses cancellation and drift; DOGE at ~0.2 with a 1e-5 tick stresses small
# prices, ties and flat stretches.
SYMBOLS = ("BTCUSDT", "DOGEUSDT")
RELATIVE = 1e-9

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Bars:
    """One symbol's klines as candles and as columns."""

    candles: tuple[Candle, ...]
    high: Floats
    low: Floats
    close: Floats
    volume: Floats
    open_ts_ms: npt.NDArray[np.int64]


@cache
def recorded(symbol: str) -> Bars:
    """Return the symbol's 43,200 recorded bars."""
    candles = tuple(read_klines(KLINES / f"{symbol}_1m.csv.gz"))
    return Bars(
        candles=candles,
        high=np.array([c.high for c in candles]),
        low=np.array([c.low for c in candles]),
        close=np.array([c.close for c in candles]),
        volume=np.array([c.volume for c in candles]),
        open_ts_ms=np.array([c.open_ts_ms for c in candles], dtype=np.int64),
    )


def column(values: Sequence[float | None]) -> Floats:
    """Return the values as a float array, NaN where None (TA-Lib's warm-up marker)."""
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def field(values: Sequence[object | None], name: str) -> list[float | None]:
    """Return one field of each multi-value result, None where the result is None."""
    return [None if v is None else float(getattr(v, name)) for v in values]


def assert_agrees(
    name: str, ours: Sequence[float | None], reference: Floats, floor: float = 0.0
) -> int:
    """Check that ours warms up exactly where the reference does and agrees after it.

    Warm-up: ours is None on exactly the bars where the reference is NaN. After it, every value
    is within 1e-9 relative: ``|ours - ref| <= 1e-9 * max(|ref|, floor)``. ``floor`` is the scale of
    a quantity that crosses zero (an oscillator's range, a fraction of the price for MACD), where a
    purely relative bound would ask for more digits than the inputs carry. Return the number of
    bars compared.
    """
    got = column(ours)
    warm = np.isnan(reference)
    assert len(got) == len(reference), name
    mismatch = np.flatnonzero(np.isnan(got) != warm)
    assert mismatch.size == 0, f"{name}: warm-up differs first at bar {mismatch[:1]}"
    assert not warm.all(), f"{name}: nothing to compare"
    diff = np.abs(got[~warm] - reference[~warm])
    bound = RELATIVE * np.maximum(np.abs(reference[~warm]), floor)
    worst = int(np.argmax(diff - bound))
    assert (diff <= bound).all(), (
        f"{name}: bar {np.flatnonzero(~warm)[worst]} differs by {diff[worst]:.3g} "
        f"(bound {bound[worst]:.3g}): ours {got[~warm][worst]!r}, reference "
        f"{reference[~warm][worst]!r}"
    )
    return int((~warm).sum())
