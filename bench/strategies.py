"""Time the six candle strategies per bar, alone and together at 100 symbols.

Rolls the 30 recorded days of 1-minute klines of the seven symbols (``tests/fixtures/klines``)
up to each strategy's interval (drawing the bars is not timed), then:

- ``per_strategy``: each strategy with its product defaults, one instance per recorded symbol,
  fed all its bars, every ``on_candle`` timed with ``perf_counter_ns``;
- ``all_six_100_symbols``: 600 instances (six strategies x 100 symbols, symbol j replaying the
  bars of recorded symbol j mod 7) fed in time order as live would, 5-minute step by 5-minute
  step, each step's batch of bars timed as one block: µs per bar over the whole run;
- ``live_cpu_share``: the core share the six take at Bybit's live bar rates, 100 symbols x one
  bar per interval each, from the per-strategy means, and from the all-together mean; compared
  with the target "all seven strategies on 100 symbols under 5 % of a core" (the seventh, the
  order-book scalper on feature vectors, is timed by its own bench; what is left of the 5 % is
  its budget).

Each timing runs ``--repeats`` times and the run with the lowest mean is kept, on the interpreted
package and on the mypyc-compiled build (``harness.run_variants``); the compiled variant reports
itself skipped while ``bench/.build`` predates the strategies.

Usage: ``.venv/bin/python bench/strategies.py [--repeats N] [--symbols N]``
"""

from __future__ import annotations

import argparse
import functools
import importlib
import statistics
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import harness

KLINES = harness.ROOT / "tests" / "fixtures" / "klines"
ALL_SYMBOLS = ("ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "DOTUSDT", "ETHUSDT", "SOLUSDT")
TARGET_CORE_SHARE = 0.05
STEP_MS = 300_000
# kind -> recorded symbol -> that symbol's bars of the kind's interval, in time order.
Bars = dict[str, dict[str, list[Any]]]


def load_bars(strategies: ModuleType, candles: ModuleType, klines: ModuleType) -> Bars:
    """Roll every recorded symbol up to each strategy's default interval (whole bars only)."""
    minutes = {s: list(klines.read_klines(KLINES / f"{s}_1m.csv.gz")) for s in ALL_SYMBOLS}
    bars: Bars = {}
    for kind, (config_class, _) in strategies.STRATEGIES.items():
        interval_ms = config_class().interval_s * 1000
        bars[kind] = {}
        for symbol, series in minutes.items():
            start = -(-series[0].open_ts_ms // interval_ms) * interval_ms
            whole = [c for c in series if c.open_ts_ms >= start]
            bars[kind][symbol] = candles.roll_up(whole, interval_ms // 1000)[:-1]
    return bars


def time_strategy(strategies: ModuleType, kind: str, bars: Bars) -> list[int]:
    """Feed each recorded symbol's bars to its own fresh instance; return ns per bar."""
    clock = time.perf_counter_ns
    samples = []
    for symbol, series in bars[kind].items():
        strategy = strategies.build(kind, "bench", symbol, {})
        for candle in series:
            start = clock()
            strategy.on_candle(candle)
            samples.append(clock() - start)
    return samples


def time_together(strategies: ModuleType, bars: Bars, symbols: int) -> dict[str, Any]:
    """Run six strategies on ``symbols`` symbols in time order; return µs per bar and signals."""
    feeds = []  # (strategy, bars by close time)
    for kind in strategies.STRATEGIES:
        for j in range(symbols):
            recorded = ALL_SYMBOLS[j % len(ALL_SYMBOLS)]
            strategy = strategies.build(kind, "bench", recorded, {})
            feeds.append((strategy, {c.close_ts_ms: c for c in bars[kind][recorded]}))
    first = min(c.close_ts_ms for series in bars["momentum_breakout"].values() for c in series)
    last = max(c.close_ts_ms for series in bars["momentum_breakout"].values() for c in series)
    clock = time.perf_counter_ns
    total_ns = fed = fired = 0
    for step in range(first, last + 1, STEP_MS):
        batch = [(s, due[step]) for s, due in feeds if step in due]
        start = clock()
        for strategy, candle in batch:
            if strategy.on_candle(candle) is not None:
                fired += 1
        total_ns += clock() - start
        fed += len(batch)
    return {"bars": fed, "signals": fired, "mean_us": round(total_ns / fed / 1e3, 3)}


def live_share(mean_us: dict[str, float], intervals: dict[str, int], symbols: int) -> float:
    """Return the core share of running each kind on ``symbols`` symbols at live bar rates."""
    return sum(mean_us[k] * 1e-6 * symbols / intervals[k] for k in mean_us)


def measure(repeats: int, symbols: int) -> dict[str, Any]:
    """Time every strategy, then all six together, on this process's variant of the package."""
    try:
        strategies = importlib.import_module("tradestream.core.strategies")
        candles = importlib.import_module("tradestream.core.candles")
        klines = importlib.import_module("tradestream.backtest.klines")
    except ModuleNotFoundError:
        return {"skipped": f"{harness.BUILD} predates tradestream.core.strategies: make compiled"}
    bars = load_bars(strategies, candles, klines)
    intervals = {k: c().interval_s for k, (c, _) in strategies.STRATEGIES.items()}
    per = {
        kind: harness.best_of(repeats, functools.partial(time_strategy, strategies, kind, bars))
        for kind in strategies.STRATEGIES
    }
    together = min(
        (time_together(strategies, bars, symbols) for _ in range(repeats)),
        key=lambda r: r["mean_us"],
    )
    bars_per_s = sum(symbols / s for s in intervals.values())
    share_each = live_share({k: v["mean_us"] for k, v in per.items()}, intervals, symbols)
    share_all = together["mean_us"] * 1e-6 * bars_per_s
    return {
        "intervals_s": intervals,
        "per_strategy": per,
        "all_six_100_symbols": {"symbols": symbols, **together},
        "live_cpu_share": {
            "symbols": symbols,
            "bars_per_s": round(bars_per_s, 4),
            "six_from_per_strategy_means": round(share_each, 8),
            "six_from_all_together_mean": round(share_all, 8),
            "target_all_seven": TARGET_CORE_SHARE,
            "left_for_the_scalper": round(TARGET_CORE_SHARE - max(share_each, share_all), 8),
            "p99_us_worst_strategy": max(v["p99_us"] for v in per.values()),
            "median_us_all_strategies": statistics.median(v["p50_us"] for v in per.values()),
        },
    }


def main() -> None:
    """Time both variants and write bench/results/strategies.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing, best kept")
    parser.add_argument("--symbols", type=int, default=100, help="symbols for the joint run")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.repeats, args.symbols))
        return
    harness.write_report(
        "strategies",
        {
            **harness.environment(),
            "recording": str(Path("tests/fixtures/klines") / "<7 symbols>_1m.csv.gz"),
            "what": "µs per bar: one on_candle of each strategy (product defaults) over 30 days "
            "of recorded klines rolled up to its interval; all six on 100 symbols in time "
            "order; the core share at live bar rates against the 5 % target for all seven",
            "repeats": args.repeats,
            "variants": harness.run_variants(
                __file__, ["--repeats", str(args.repeats), "--symbols", str(args.symbols)]
            ),
        },
    )


if __name__ == "__main__":
    main()
