"""Time the order-book analytics per book update and the scalper per feature vector.

Replays the recorded ``orderbook.200`` frames (``harness.OB200``, looped ``--loops`` times with
time shifted forward) through one ``OrderBook`` per symbol, outside the timing; then times:

- ``analytics_on_book``: slicing the best ``AnalyticsConfig.levels`` per side out of the book
  (``top_lists``, as the market engine would) plus ``BookAnalytics.on_book``, per applied update;
- ``analytics_on_trade``: ``BookAnalytics.on_trade`` per recorded public trade;
- ``analytics_read``: ``BookAnalytics.values()`` (evicting windows, writing the vector), per read;
- ``scalper_on_features``: ``OrderBookScalper.on_features`` per real feature vector (the feature
  engine's and the analytics' names in one dict); these are nearly all skipped by a filter;
- ``scalper_signal``: the same on a vector that passes every check, so it builds a ``Signal``
  (pydantic validation included): the cost of the rare firing path.

Interpreted only: ``setup.py`` does not compile these modules yet. Each timing runs ``--repeats``
times and the run with the lowest mean is kept.

Usage: ``.venv/bin/python bench/scalper.py [--repeats N] [--loops N]``
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections.abc import Callable
from typing import Any

import harness
import orjson

from tradestream.core.book_analytics import AnalyticsConfig, BookAnalytics
from tradestream.core.features import FeatureEngine
from tradestream.core.order_book import DeltaOutcome, OrderBook
from tradestream.core.strategies.scalper import OrderBookScalper
from tradestream.schemas.bybit import orderbook_decoder

TRADES = (
    harness.FIXTURES / "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_publicTrade.ndjson.gz"
)
Book = tuple[str, int, list[float], list[float], list[float], list[float]]


def book_states(frames: list[bytes], levels: int) -> list[Book]:
    """Return (symbol, ts, best ``levels`` per side) after every applied update."""
    books: dict[str, OrderBook] = {}
    states = []
    for raw in frames:
        frame = orderbook_decoder.decode(raw)
        data = frame.data
        book = books.setdefault(data.s, OrderBook(data.s, 200))
        apply = book.on_snapshot if frame.type == "snapshot" else book.on_delta
        if apply(data.u, data.seq, frame.ts, data.b, data.a) is DeltaOutcome.APPLIED:
            bids, asks = book.bids.top_lists(levels), book.asks.top_lists(levels)
            states.append((data.s, frame.ts, *bids, *asks))
    return states


def recorded_trades() -> list[tuple[str, int, float, float, bool]]:
    """Return every recorded public trade as (symbol, time, price, size, taker buy)."""
    with gzip.open(TRADES, "rb") as lines:
        return [
            (t["s"], t["T"], float(t["p"]), float(t["v"]), t["S"] == "Buy")
            for line in lines
            if line.strip()
            for t in orjson.loads(line)["data"]
        ]


def timed(items: list[Any], call: Callable[[Any], object]) -> list[int]:
    """Call ``call`` on each item; return the nanoseconds each call took."""
    clock = time.perf_counter_ns
    samples = []
    for item in items:
        start = clock()
        call(item)
        samples.append(clock() - start)
    return samples


def time_on_book(states: list[Book], levels: int) -> list[int]:
    """Time the slice a caller makes plus ``on_book``, on fresh analytics per symbol."""
    engines: dict[str, BookAnalytics] = {}
    clock = time.perf_counter_ns
    samples = []
    for symbol, ts, bid_px, bid_sz, ask_px, ask_sz in states:
        analytics = engines.get(symbol) or engines.setdefault(symbol, BookAnalytics())
        start = clock()
        analytics.on_book(ts, bid_px[:levels], bid_sz[:levels], ask_px[:levels], ask_sz[:levels])
        samples.append(clock() - start)
    return samples


def feature_vectors(states: list[Book]) -> list[tuple[str, int, dict[str, float]]]:
    """Return the real name → value vector after every update (engine + analytics)."""
    engines: dict[str, tuple[FeatureEngine, BookAnalytics]] = {}
    vectors = []
    for symbol, ts, bid_px, bid_sz, ask_px, ask_sz in states:
        engine, analytics = engines.setdefault(symbol, (FeatureEngine(), BookAnalytics()))
        engine.on_book(ts, bid_px[:20], bid_sz[:20], ask_px[:20], ask_sz[:20])
        analytics.on_book(ts, bid_px, bid_sz, ask_px, ask_sz)
        vectors.append((symbol, ts, engine.as_dict() | analytics.as_dict()))
    return vectors


def passing_vectors(n: int) -> list[tuple[str, int, dict[str, float]]]:
    """Return ``n`` vectors that each pass every check (a cooldown apart)."""
    base = dict.fromkeys(OrderBookScalper().config.feature_names().values(), 0.0)
    base |= {
        "mid": 100.0,
        "spread": 0.01,
        "spread_bps": 1.0,
        "microprice": 100.004,
        "imbalance_5": 0.8,
        "ofi_5_sum_1s": 10.0,
        "bid_depth_5": 60.0,
        "ask_depth_5": 40.0,
        "realized_vol_60s": 5.0,
        "cluster_breakout_up": 1.0,
    }
    return [("BTCUSDT", 1_754_774_817_000 + 5_000 * k, base) for k in range(n)]


def measure(repeats: int, loops: int) -> dict[str, Any]:
    """Run every timing and return the figures."""
    levels = AnalyticsConfig().levels
    states = book_states(harness.looped(harness.recorded_frames(), loops), levels)
    trades = recorded_trades() * loops
    vectors = feature_vectors(states)
    signals = passing_vectors(2_000)

    def on_trade() -> list[int]:
        analytics = BookAnalytics()
        return timed(trades, lambda t: analytics.on_trade(t[1], t[2], t[3], t[4]))

    def read() -> list[int]:
        analytics = BookAnalytics()
        samples = []
        clock = time.perf_counter_ns
        for symbol, ts, bid_px, bid_sz, ask_px, ask_sz in states:
            if symbol == "BTCUSDT":
                analytics.on_book(ts, bid_px, bid_sz, ask_px, ask_sz)
                start = clock()
                analytics.values()
                samples.append(clock() - start)
        return samples

    def scalper(stream: list[tuple[str, int, dict[str, float]]]) -> Callable[[], list[int]]:
        def run() -> list[int]:
            strategy = OrderBookScalper()
            return timed(stream, lambda v: strategy.on_features(v[0], v[1], v[2]))

        return run

    return {
        "book_updates": len(states),
        "analytics_levels": levels,
        "analytics_on_book": harness.best_of(repeats, lambda: time_on_book(states, levels)),
        "analytics_on_trade": harness.best_of(repeats, on_trade),
        "analytics_read": harness.best_of(repeats, read),
        "scalper_on_features": harness.best_of(repeats, scalper(vectors)),
        "scalper_signal": harness.best_of(repeats, scalper(signals)),
    }


def main() -> None:
    """Measure and write ``bench/results/scalper.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loops", type=int, default=3)
    args = parser.parse_args()
    report = {
        **harness.environment(),
        "what": "µs per call: BookAnalytics per book update / trade / read, "
        "OrderBookScalper per feature vector (interpreted)",
        "repeats": args.repeats,
        "loops": args.loops,
        "variants": {"interpreted": measure(args.repeats, args.loops)},
    }
    harness.write_report("scalper", report)


if __name__ == "__main__":
    main()
