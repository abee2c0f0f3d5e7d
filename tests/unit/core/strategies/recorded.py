"""The recorded 1-minute klines rolled up to each strategy's interval, and running a strategy.

Bars before the first whole period and the last, unfinished period are dropped, so every bar is
a complete roll-up of its minutes. Loaded once per test process; read-only for the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tradestream.backtest.klines import read_klines
from tradestream.core.candles import Candle, roll_up
from tradestream.core.strategies import Strategy, build
from tradestream.schemas.trading import Signal

KLINES = Path(__file__).resolve().parents[3] / "fixtures" / "klines"
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Bars:
    """One symbol's rolled-up bars as candles and as columns."""

    candles: tuple[Candle, ...]
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats


@cache
def minutes(symbol: str) -> tuple[Candle, ...]:
    """Return the symbol's 43,200 recorded 1-minute bars."""
    return tuple(read_klines(KLINES / f"{symbol}_1m.csv.gz"))


@cache
def rolled(symbol: str, interval_s: int) -> Bars:
    """Return the symbol's complete bars of ``interval_s``."""
    period_ms = interval_s * 1000
    whole = [c for c in minutes(symbol) if c.open_ts_ms >= _first_boundary(symbol, period_ms)]
    candles = tuple(roll_up(whole, interval_s)[:-1])
    return Bars(
        candles=candles,
        open=np.array([c.open for c in candles]),
        high=np.array([c.high for c in candles]),
        low=np.array([c.low for c in candles]),
        close=np.array([c.close for c in candles]),
        volume=np.array([c.volume for c in candles]),
    )


def _first_boundary(symbol: str, period_ms: int) -> int:
    first = minutes(symbol)[0].open_ts_ms
    return -(-first // period_ms) * period_ms


def fresh(kind: str, symbol: str = "BTCUSDT", **params: object) -> Strategy:
    """Return a new ``kind`` strategy named after its kind."""
    return build(kind, kind.replace("_", "")[:16], symbol, params)


def run(strategy: Strategy, candles: Sequence[Candle]) -> list[tuple[int, Signal]]:
    """Feed every bar; return each signal with the index of the bar that made it."""
    fired = []
    for index, candle in enumerate(candles):
        signal = strategy.on_candle(candle)
        if signal is not None:
            fired.append((index, signal))
    return fired


def bars_for(kind: str, symbol: str = "BTCUSDT") -> Bars:
    """Return the bars of the interval ``kind`` runs on by default."""
    return rolled(symbol, fresh(kind, symbol).interval_s)
