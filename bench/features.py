"""Time the feature engine per event on the recorded Bybit stream and write JSON results.

Replays the BTCUSDT book and trades of the recording (top 20 levels rebuilt from the raw frames
before timing starts), looped with shifted timestamps until enough events are timed. Reports
microseconds per event for ``on_book`` and ``on_trade``, each alone and followed by a read of the
vector (``values()`` or ``fill()``), and two hot-path kernels (the snapshot features and the
multi-level OFI) in plain Python against numpy versions of the same formulas, which is how the
hot path's implementation was chosen.
Each timing runs ``--repeats`` times and the least noisy run (lowest means) is kept, on the
interpreted package and on the mypyc-compiled build (``harness.run_variants``).

Usage: ``.venv/bin/python bench/features.py [--loops N] [--repeats N] [--out PATH]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import harness
import numpy as np

from tradestream.core.features import FeatureConfig, FeatureEngine
from tradestream.core.features.book_dynamics import order_flow
from tradestream.core.features.book_features import BookFeatures
from tradestream.core.features.levels import BookLevels

ROOT = Path(__file__).resolve().parent.parent
RECORDING = "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
SEARCH = (
    ROOT / "tests" / "fixtures" / "bybit",
    ROOT / "tests" / "fixtures",
    Path("/work/shared/data"),
)
SYMBOL = "BTCUSDT"
DEPTH = 20

Book = tuple[int, list[float], list[float], list[float], list[float]]
Trade = tuple[int, float, float, bool]


def find_recording() -> Path:
    """Return the first copy of the recording found in the fixture folders or the shared data."""
    for folder in SEARCH:
        if (folder / RECORDING).exists():
            return folder / RECORDING
    sys.exit(f"recording {RECORDING} not found in {[str(f) for f in SEARCH]}")


def frames(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the raw frames of one symbol, in receive order."""
    with gzip.open(path, "rt") as lines:
        for line in lines:
            frame = json.loads(line)
            if frame.get("topic", "").endswith(SYMBOL):
                yield frame


def top_levels(side: dict[str, str], descending: bool) -> tuple[list[float], list[float]]:
    """Return the best DEPTH levels of a naive price->size book side as float lists."""
    best = sorted(((float(p), float(q)) for p, q in side.items()), reverse=descending)[:DEPTH]
    return [p for p, _ in best], [q for _, q in best]


def load_events(path: Path) -> list[tuple[str, Book | Trade]]:
    """Rebuild top-DEPTH books from snapshot/delta frames and collect trades, in order."""
    bids: dict[str, str] = {}
    asks: dict[str, str] = {}
    events: list[tuple[str, Book | Trade]] = []
    for frame in frames(path):
        if frame["topic"].startswith("orderbook"):
            if frame["type"] == "snapshot":
                bids.clear()
                asks.clear()
            for side, updates in ((bids, frame["data"]["b"]), (asks, frame["data"]["a"])):
                for price, size in updates:
                    if size == "0":
                        side.pop(price, None)
                    else:
                        side[price] = size
            events.append(
                ("book", (frame["cts"], *top_levels(bids, True), *top_levels(asks, False)))
            )
        elif frame["topic"].startswith("publicTrade"):
            events.extend(
                ("trade", (t["T"], float(t["p"]), float(t["v"]), t["S"] == "Buy"))
                for t in frame["data"]
            )
    return events


def looped(events: list[tuple[str, Book | Trade]], loops: int) -> list[tuple[str, Any]]:
    """Repeat the events ``loops`` times, shifting timestamps so time keeps moving forward."""
    span = max(e[1][0] for e in events) - min(e[1][0] for e in events) + 100
    return [
        (kind, (event[0] + k * span, *event[1:])) for k in range(loops) for kind, event in events
    ]


def summarize(samples_ns: list[int]) -> dict[str, float]:
    """Return mean, median and p99 in microseconds."""
    ordered = sorted(samples_ns)
    return {
        "n": len(ordered),
        "mean_us": statistics.fmean(ordered) / 1e3,
        "median_us": ordered[len(ordered) // 2] / 1e3,
        "p99_us": ordered[int(len(ordered) * 0.99)] / 1e3,
    }


def time_engine(stream: list[tuple[str, Any]], read: str) -> dict[str, dict[str, float]]:
    """Replay the stream through a fresh engine, timing each book and trade call."""
    engine = FeatureEngine(FeatureConfig())
    buffer = [0.0] * len(engine)
    reads: dict[str, Callable[[], object]] = {
        "values": engine.values,
        "fill": lambda: engine.fill(buffer),
        "none": lambda: None,
    }
    read_vector = reads[read]
    clock = time.perf_counter_ns
    book_ns: list[int] = []
    trade_ns: list[int] = []
    trade_read_ns: list[int] = []
    for kind, event in stream:
        if kind == "book":
            start = clock()
            engine.on_book(*event)
            read_vector()
            book_ns.append(clock() - start)
        else:
            start = clock()
            engine.on_trade(*event)
            traded = clock()
            read_vector()
            trade_read_ns.append(clock() - start)
            trade_ns.append(traded - start)
    return {
        "on_book+read": summarize(book_ns),
        "on_trade": summarize(trade_ns),
        "on_trade+read": summarize(trade_read_ns),
    }


class NumpyBookKernel:
    """Compute the snapshot features with numpy, to compare against the plain-Python kernel."""

    def __init__(self, config: FeatureConfig) -> None:
        """Precompute the checkpoint indices and notionals."""
        self.checkpoints = np.asarray(config.checkpoint_levels) - 1
        self.notionals = np.asarray(config.impact_notionals, dtype=float)
        self.out = np.zeros(64)

    def update(
        self, bid_px: list[float], bid_sz: list[float], ask_px: list[float], ask_sz: list[float]
    ) -> None:
        """Compute cumulative sums, imbalances, impact and slope like BookFeatures."""
        bp, bq, ap, aq = (np.asarray(x, dtype=float) for x in (bid_px, bid_sz, ask_px, ask_sz))
        cq_b, cq_a = np.cumsum(bq), np.cumsum(aq)
        cn_b, cn_a = np.cumsum(bp * bq), np.cumsum(ap * aq)
        idx_b = np.minimum(self.checkpoints, len(bq) - 1)
        idx_a = np.minimum(self.checkpoints, len(aq) - 1)
        qb, qa = cq_b[idx_b], cq_a[idx_a]
        mid = 0.5 * (bp[0] + ap[0])
        out = self.out
        out[0:4] = (
            mid,
            ap[0] - bp[0],
            (ap[0] * bq[0] + bp[0] * aq[0]) / (bq[0] + aq[0]),
            (ap[0] - bp[0]) / mid * 1e4,
        )
        k = len(idx_b)
        out[4 : 4 + k] = (qb - qa) / (qb + qa)
        out[8 : 8 + k] = cn_b[idx_b] - cn_a[idx_a]
        for j, (cum_q, cum_n, px) in enumerate(((cq_a, cn_a, ap), (cq_b, cn_b, bp))):
            level = np.minimum(np.searchsorted(cum_n, self.notionals), len(px) - 1)
            before_n = np.where(level > 0, cum_n[level - 1], 0.0)
            before_q = np.where(level > 0, cum_q[level - 1], 0.0)
            vwap = self.notionals / (before_q + (self.notionals - before_n) / px[level])
            out[16 + 2 * j : 18 + 2 * j] = (vwap - mid) / mid * 1e4
        out[20] = cq_b[idx_b[-1]] / (abs(mid - bp[idx_b[-1]]) / mid * 1e4)


class NumpyOfiKernel:
    """Compute the multi-level OFI with numpy, to compare against ``order_flow``."""

    def __init__(self, config: FeatureConfig) -> None:
        """Precompute the depth indices."""
        self.depth = max(config.ofi_levels)
        self.at = np.asarray(config.ofi_levels) - 1
        self.out = np.zeros(len(config.ofi_levels))

    def update(self, levels: BookLevels) -> None:
        """Vectorise e_i over the padded current and previous levels, then sum by depth."""
        d = self.depth
        bp, bq = np.asarray(levels.bid.px[:d]), np.asarray(levels.bid.sz[:d])
        bp0, bq0 = np.asarray(levels.prev_bid.px[:d]), np.asarray(levels.prev_bid.sz[:d])
        ap, aq = np.asarray(levels.ask.px[:d]), np.asarray(levels.ask.sz[:d])
        ap0, aq0 = np.asarray(levels.prev_ask.px[:d]), np.asarray(levels.prev_ask.sz[:d])
        e = bq * (bp >= bp0) - bq0 * (bp <= bp0) - aq * (ap <= ap0) + aq0 * (ap >= ap0)
        self.out[:] = np.cumsum(e)[self.at]


def time_kernels(books: list[Book]) -> dict[str, dict[str, float]]:
    """Time the snapshot and OFI kernels in plain Python against numpy on the same books."""
    config = FeatureConfig()
    levels = BookLevels(config.levels)
    python_book = BookFeatures(config, 0)
    out = [0.0] * len(python_book.specs)
    ofi = [0.0] * len(config.ofi_levels)
    numpy_book = NumpyBookKernel(config)
    numpy_ofi = NumpyOfiKernel(config)
    clock = time.perf_counter_ns
    samples: dict[str, list[int]] = {
        name: [] for name in ("book_python", "book_numpy", "ofi_python", "ofi_numpy")
    }
    for _, bid_px, bid_sz, ask_px, ask_sz in books:
        levels.load(bid_px, bid_sz, ask_px, ask_sz)
        start = clock()
        python_book.update(levels, out)
        samples["book_python"].append(clock() - start)
        start = clock()
        numpy_book.update(bid_px, bid_sz, ask_px, ask_sz)
        samples["book_numpy"].append(clock() - start)
        start = clock()
        order_flow(levels, config.ofi_levels, ofi)
        samples["ofi_python"].append(clock() - start)
        start = clock()
        numpy_ofi.update(levels)
        samples["ofi_numpy"].append(clock() - start)
    return {name: summarize(ns) for name, ns in samples.items()}


def best_of(repeats: int, run: Callable[[], dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Run a timing ``repeats`` times and keep the run with the lowest means (least noise)."""
    runs = [run() for _ in range(repeats)]
    return min(runs, key=lambda result: sum(part["mean_us"] for part in result.values()))


def measure(loops: int, repeats: int) -> dict[str, Any]:
    """Run every timing on this process's variant of the package."""
    recording = find_recording()
    stream = looped(load_events(recording), loops)
    books = [event for kind, event in stream if kind == "book"]
    return {
        "recording": recording.name,
        "features": len(FeatureEngine()),
        "read=values()": best_of(repeats, lambda: time_engine(stream, "values")),
        "read=fill()": best_of(repeats, lambda: time_engine(stream, "fill")),
        "read=nothing": best_of(repeats, lambda: time_engine(stream, "none")),
        "kernels_python_vs_numpy": best_of(repeats, lambda: time_kernels(books)),
    }


def main() -> None:
    """Run every timing on the interpreted and the compiled package; write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=20, help="replays of the recording")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing, best kept")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "features.json")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.loops, args.repeats))
        return
    argv = ["--loops", str(args.loops), "--repeats", str(args.repeats)]
    results = {
        "symbol": SYMBOL,
        "levels": DEPTH,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "repeats": args.repeats,
        "variants": harness.run_variants(__file__, argv),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
