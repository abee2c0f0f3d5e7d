"""Time each technical indicator per bar over the recorded BTCUSDT 1-minute klines.

Feeds the 43,200 bars of ``tests/fixtures/klines/BTCUSDT_1m.csv.gz`` (already parsed into
candles) through a fresh instance of each indicator, timing every ``update_candle`` call with
``perf_counter_ns``; the correlations are fed BTCUSDT with ETHUSDT closes (one pair) and all seven
recorded symbols (21 pairs), on the minutes every symbol has. ``timer_floor`` is the same loop
around a call that does nothing: the part of each figure that is the timing itself.
``exact_sum`` is one ``ExactSum.add`` and one ``value`` read, the unit cost of the VWAPs and
the volume profile.

Each timing runs ``--repeats`` times and the run with the lowest mean is kept, on the interpreted
package and on the mypyc-compiled build (``harness.run_variants``); the compiled variant is
reported as skipped while ``bench/.build`` predates the indicators (``make compiled``), and as
``indicators_compiled: false`` while ``setup.py`` does not list their modules.

Usage: ``.venv/bin/python bench/indicators.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import harness

KLINES = harness.ROOT / "tests" / "fixtures" / "klines"
SYMBOL = "BTCUSDT"
PAIR = "ETHUSDT"
ALL_SYMBOLS = ("ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "DOTUSDT", "ETHUSDT", "SOLUSDT")
# Bars of (one BTCUSDT candle, every symbol's close at the same minute).
Bar = tuple[Any, dict[str, float]]


def load_bars(read_klines: Callable[[Path], Any]) -> list[Bar]:
    """Return BTCUSDT's candles with all symbols' closes, on the minutes every symbol has."""
    closes: dict[str, dict[int, float]] = {}
    for symbol in ALL_SYMBOLS:
        path = KLINES / f"{symbol}_1m.csv.gz"
        closes[symbol] = {c.open_ts_ms: c.close for c in read_klines(path)}
    bars = []
    for candle in read_klines(KLINES / f"{SYMBOL}_1m.csv.gz"):
        row = {
            s: by_ts[candle.open_ts_ms] for s, by_ts in closes.items() if candle.open_ts_ms in by_ts
        }
        if len(row) == len(ALL_SYMBOLS):
            bars.append((candle, row))
    return bars


def candle_feeds(
    ind: ModuleType,
) -> dict[str, tuple[Callable[[], Any], Callable[[Any, Bar], object]]]:
    """Name each timed indicator: how to make a fresh one, and how to feed it one bar."""

    def candle(indicator: Any, bar: Bar) -> object:
        return indicator.update_candle(bar[0])

    def pair(indicator: Any, bar: Bar) -> object:
        return indicator.update(bar[1][SYMBOL], bar[1][PAIR])

    def matrix(indicator: Any, bar: Bar) -> object:
        indicator.update(bar[1])
        return None

    return {
        "sma_20": (lambda: ind.Sma(20), candle),
        "ema_20": (lambda: ind.Ema(20), candle),
        "rsi_14": (lambda: ind.Rsi(14), candle),
        "atr_14": (lambda: ind.Atr(14), candle),
        "bollinger_20_2": (lambda: ind.Bollinger(20, 2.0), candle),
        "adx_14": (lambda: ind.Adx(14), candle),
        "macd_12_26_9": (lambda: ind.Macd(12, 26, 9), candle),
        "parabolic_sar": (ind.ParabolicSar, candle),
        "supertrend_10_3": (lambda: ind.SuperTrend(10, 3.0), candle),
        "donchian_20": (lambda: ind.Donchian(20), candle),
        "session_vwap": (ind.SessionVwap, candle),
        "rolling_vwap_60": (lambda: ind.RollingVwap(60), candle),
        "volume_profile_240_bin10": (lambda: ind.VolumeProfile(240, 10.0), candle),
        "return_correlation_30_btc_eth": (lambda: ind.ReturnCorrelation(30), pair),
        "correlation_matrix_30_7_symbols": (
            lambda: ind.CorrelationMatrix(ALL_SYMBOLS, 30),
            matrix,
        ),
    }


def time_feed(
    make: Callable[[], Any], feed: Callable[[Any, Bar], object], bars: list[Bar]
) -> list[int]:
    """Feed every bar to a fresh indicator; return the nanoseconds each feed took."""
    indicator = make()
    clock = time.perf_counter_ns
    samples = []
    for bar in bars:
        start = clock()
        feed(indicator, bar)
        samples.append(clock() - start)
    return samples


def time_exact_sum(ind: ModuleType, bars: list[Bar]) -> list[int]:
    """Time one add of a bar's notional and one read of the sum."""
    total = ind.ExactSum()
    clock = time.perf_counter_ns
    samples = []
    for candle, _ in bars:
        notional = candle.close * candle.volume
        start = clock()
        total.add(notional)
        _ = total.value
        samples.append(clock() - start)
    return samples


def measure(repeats: int) -> dict[str, Any]:
    """Time every indicator on this process's variant of the package."""
    # Imported here: a compiled build made before the indicators existed lacks them.
    try:
        ind = importlib.import_module("tradestream.core.indicators")
        klines = importlib.import_module("tradestream.backtest.klines")
    except ModuleNotFoundError:
        return {"skipped": f"{harness.BUILD} predates tradestream.core.indicators: make compiled"}
    bars = load_bars(klines.read_klines)
    origin = importlib.import_module("tradestream.core.indicators.window").__file__ or ""
    results: dict[str, Any] = {
        "bars": len(bars),
        "indicators_compiled": not origin.endswith(".py"),
        "timer_floor": harness.best_of(
            repeats, lambda: time_feed(lambda: None, lambda _i, _b: None, bars)
        ),
        "exact_sum": harness.best_of(repeats, lambda: time_exact_sum(ind, bars)),
    }
    for name, (make, feed) in candle_feeds(ind).items():
        results[name] = harness.best_of(repeats, lambda m=make, f=feed: time_feed(m, f, bars))
    return results


def main() -> None:
    """Time both variants and write bench/results/indicators.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing, best kept")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.repeats))
        return
    harness.write_report(
        "indicators",
        {
            **harness.environment(),
            "recording": str(Path("tests/fixtures/klines") / f"{SYMBOL}_1m.csv.gz"),
            "what": "µs per bar: one update_candle (or update of the closes) of each indicator "
            "over the recorded 1-minute klines; timer_floor is the timing loop alone",
            "repeats": args.repeats,
            "variants": harness.run_variants(__file__, ["--repeats", str(args.repeats)]),
        },
    )


if __name__ == "__main__":
    main()
