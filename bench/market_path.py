"""Time the market agent's per-message path in process: decode, book, top-N, features, serialise.

Each message of the recorded ``orderbook.200`` stream (4 symbols, replayed ``--loops`` times)
goes through ``MarketBooks.apply`` (msgspec decode, book apply, integrity, the top-N levels the
feature engine reads, features, the BookTop / Features records) and every record produced is
encoded to JSON with msgspec, as the agent does before sending. Two modes:

- ``every_message``: ``features_interval_ms=0``, a Features record on every message;
- ``as_the_agent_runs``: ``features_interval_ms=100`` (the default config): features at most
  every 100 ms of exchange time per symbol, BookTop only when the top changed. The recording
  has ~9.5 updates a second per symbol, so this is still a feature vector on nearly every message;
- ``at_100_msgs_per_s_per_symbol``: the same config on the recording re-stamped as a live feed of
  100 updates a second per symbol (``harness.paced``), the rate of ``pipeline.py``'s 10,000
  msgs/s over 100 symbols: a feature vector on about every tenth message of a symbol.

The same path is also built on the ``order-book`` C extension (cryptofeed's book,
``cext_market.py``): identical decode, integrity rules, features and records, only the book sides
differ, so the ratio isolates the book. The target (issue "Order books and microstructure features
at full speed") is ≤ 10 µs per message and ≥ 1.2x the C-extension path. The top-N read is the
feature engine's ``levels`` (20 per side), a superset of the top 10.

Both paths run on the interpreted package and on the mypyc-compiled build (``harness``), where
the C-extension path's glue and our code it shares are compiled too; ``side_by_side`` lines the
six figures up per mode.

Usage: ``.venv/bin/python bench/market_path.py [--loops N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import harness
import msgspec
from cext_market import CExtMarketBooks

from tradestream.core.market import MarketBooks, MarketConfig

MODES = {"every_message": 0, "as_the_agent_runs": 100, "at_100_msgs_per_s_per_symbol": 100}
PACED = {"at_100_msgs_per_s_per_symbol": 100}
"""Modes that re-stamp the stream, with their updates per second per symbol."""


Books = type[MarketBooks] | type[CExtMarketBooks]


def run_path(factory: Books, interval_ms: int, raw: list[bytes]) -> list[int]:
    """Replay the frames through fresh books, timing apply + encode of each message."""
    books = factory(clock=lambda: 0, config=MarketConfig(features_interval_ms=interval_ms))
    encode = msgspec.json.Encoder().encode
    clock = time.perf_counter_ns
    samples = []
    for frame in raw:
        start = clock()
        update = books.apply(frame, 1)
        if update.book_top is not None:
            encode(update.book_top)
        if update.features is not None:
            encode(update.features)
        if update.resync is not None:
            encode(update.resync)
        samples.append(clock() - start)
    check_final(books)
    return samples


def check_final(books: MarketBooks | CExtMarketBooks) -> None:
    """Fail loudly unless the final books match the recording's known best bid/ask."""
    for symbol, (bid, ask) in harness.FINAL_BOOKS.items():
        book = books.book(symbol)
        got = (book.bids.best(), book.asks.best()) if book is not None else (None, None)
        if got[0] is None or got[1] is None or (got[0][0], got[1][0]) != (float(bid), float(ask)):
            raise SystemExit(f"{type(books).__name__} {symbol}: {got} != {bid}/{ask}")


def count_records(interval_ms: int, raw: list[bytes]) -> dict[str, int]:
    """Count the records one replay publishes, so the figures can be read per record too."""
    books = MarketBooks(clock=lambda: 0, config=MarketConfig(features_interval_ms=interval_ms))
    counts = {"messages": len(raw), "features": 0, "book_top": 0}
    for frame in raw:
        update = books.apply(frame, 1)
        counts["features"] += update.features is not None
        counts["book_top"] += update.book_top is not None
    return counts


def time_mode(interval_ms: int, raw: list[bytes], repeats: int) -> dict[str, Any]:
    """Time both paths in one mode, alternating them so that machine noise hits both alike."""
    ours: list[harness.Summary] = []
    cext: list[harness.Summary] = []
    for _ in range(repeats):
        ours.append(harness.summarize(run_path(MarketBooks, interval_ms, raw)))
        cext.append(harness.summarize(run_path(CExtMarketBooks, interval_ms, raw)))
    best_ours = min(ours, key=lambda s: s["mean_us"])
    best_cext = min(cext, key=lambda s: s["mean_us"])
    return {
        "features_interval_ms": interval_ms,
        "records": count_records(interval_ms, raw),
        "ours": best_ours,
        "order_book_c_extension": best_cext,
        "speedup_vs_c_extension_p50": round(best_cext["p50_us"] / best_ours["p50_us"], 3),
        "speedup_vs_c_extension_mean": round(best_cext["mean_us"] / best_ours["mean_us"], 3),
        "target_p50_le_10us": best_ours["p50_us"] <= 10.0,
        "target_speedup_ge_1.2": best_cext["p50_us"] / best_ours["p50_us"] >= 1.2,
    }


def measure(loops: int, repeats: int) -> dict[str, Any]:
    """Time both modes on this process's variant of the package."""
    raw = harness.looped(harness.recorded_frames(), loops)
    symbols = len(harness.FINAL_BOOKS)
    streams = {
        mode: harness.paced(raw, PACED[mode] * symbols) if mode in PACED else raw for mode in MODES
    }
    return {
        "messages_per_run": len(raw),
        "features": len(MarketBooks(clock=lambda: 0).feature_names),
        "modes": {
            mode: time_mode(interval, streams[mode], repeats) for mode, interval in MODES.items()
        },
    }


def side_by_side(variants: dict[str, Any]) -> dict[str, Any]:
    """Line up p50/p99 of both paths in both variants, per mode."""
    table: dict[str, Any] = {}
    for mode in MODES:
        row: dict[str, Any] = {}
        for variant, result in variants.items():
            if "modes" not in result:
                continue
            timed = result["modes"][mode]
            for path in ("ours", "order_book_c_extension"):
                figures = timed[path]
                row[f"{path} {variant}"] = {
                    "p50_us": figures["p50_us"],
                    "p99_us": figures["p99_us"],
                }
            row[f"speedup_vs_c_extension_p50 {variant}"] = timed["speedup_vs_c_extension_p50"]
        table[mode] = row
    return table


def main() -> None:
    """Time both modes on both variants and write bench/results/market_path.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=5, help="replays of the recording")
    parser.add_argument("--repeats", type=int, default=5, help="runs per path, best kept")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.loops, args.repeats))
        return
    argv = ["--loops", str(args.loops), "--repeats", str(args.repeats)]
    variants = harness.run_variants(__file__, argv)
    harness.write_report(
        "market_path",
        {
            **harness.environment(),
            "what": "µs per order-book message: MarketBooks.apply (decode + book + top-20 + "
            "features + records) + msgspec JSON encode of every record produced",
            "loops": args.loops,
            "repeats": args.repeats,
            "side_by_side": side_by_side(variants),
            "variants": variants,
        },
    )


if __name__ == "__main__":
    main()
