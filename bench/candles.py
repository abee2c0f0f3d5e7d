"""Time what building candles from trades adds to the market engine's per-message path.

The recording's order-book and trade frames (4 symbols, looped ``--loops`` times and re-stamped
as a live feed of 100 messages a second per symbol, ``harness.paced``) go through
``MarketBooks.apply`` / ``apply_trades`` and every record made is encoded, as the engine does, in
three configurations: no candles, 1-minute bars only, and the default 1 s + 5 s + 1 min. Per
message the bar builders cost a trade's update per interval (a compare, min/max, two adds) and,
on book frames, one integer compare against the symbol's next close time; a closed bar is
written as an ``md.candles`` record once per bar. Reported: µs per message over all messages and
over trade frames alone, best of ``--repeats`` runs, on the interpreted and compiled variants.

Usage: ``.venv/bin/python bench/candles.py [--loops N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import gzip
import time
from typing import Any

import harness
import msgspec

from tradestream.core.market import MarketBooks, MarketConfig

ALL_TOPICS = (
    harness.FIXTURES / "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
)
CONFIGS: dict[str, tuple[int, ...]] = {
    "no_candles": (),
    "1m": (60,),
    "1s_5s_1m": (1, 5, 60),
}
RATE_PER_SYMBOL = 100


def book_and_trade_frames() -> list[bytes]:
    """Return the recording's order-book and trade frames, in receive order."""
    with gzip.open(ALL_TOPICS, "rb") as lines:
        frames = [line.rstrip(b"\n") for line in lines if line.strip()]
    return [f for f in frames if f.startswith((b'{"topic":"orderbook', b'{"topic":"publicTrade'))]


def run(intervals: tuple[int, ...], raw: list[bytes]) -> tuple[list[int], list[int], int]:
    """Replay the frames through fresh books; return per-message and per-trade-frame ns."""
    config = MarketConfig(features_interval_ms=100, candle_intervals_s=intervals)
    books = MarketBooks(clock=lambda: 0, config=config)
    encode = msgspec.json.Encoder().encode
    clock = time.perf_counter_ns
    every: list[int] = []
    trades: list[int] = []
    candles = 0
    for frame in raw:
        is_trade = frame.startswith(b'{"topic":"publicTrade')
        start = clock()
        update = books.apply_trades(frame, 1) if is_trade else books.apply(frame, 1)
        if update is not None:
            for record in (update.book_top, update.features, update.resync):
                if record is not None:
                    encode(record)
            for candle in update.candles or ():
                encode(candle)
                candles += 1
        took = clock() - start
        every.append(took)
        if is_trade:
            trades.append(took)
    return every, trades, candles


def measure(loops: int, repeats: int) -> dict[str, Any]:
    """Time every configuration, alternating them so that machine noise hits all alike."""
    once = book_and_trade_frames()
    raw = harness.paced(once * loops, RATE_PER_SYMBOL * len(harness.FINAL_BOOKS))
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeats):
        for name, intervals in CONFIGS.items():
            every, trades, candles = run(intervals, raw)
            summary = harness.summarize(every)
            if name not in best or summary["mean_us"] < best[name]["all"]["mean_us"]:
                best[name] = {
                    "all": summary,
                    "trade_frames": harness.summarize(trades),
                    "candles": candles,
                }
    base = best["no_candles"]
    for name in CONFIGS:
        best[name]["added_mean_us_per_message"] = round(
            best[name]["all"]["mean_us"] - base["all"]["mean_us"], 3
        )
        best[name]["added_mean_us_per_trade_frame"] = round(
            best[name]["trade_frames"]["mean_us"] - base["trade_frames"]["mean_us"], 3
        )
    trade_frames = sum(1 for f in raw if f.startswith(b'{"topic":"publicTrade'))
    return {"messages": len(raw), "trade_frames": trade_frames, "configs": best}


def main() -> None:
    """Time both variants (or, in a child, this process's variant) and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.loops, args.repeats))
        return
    argv = ["--loops", str(args.loops), "--repeats", str(args.repeats)]
    harness.write_report("candles", report(harness.run_variants(__file__, argv), args.loops))


def report(variants: dict[str, Any], loops: int) -> dict[str, Any]:
    """Return the JSON report of both variants' figures."""
    return {
        **harness.environment(),
        "recording": ALL_TOPICS.name,
        "what": "µs per order-book or trade message: MarketBooks.apply / apply_trades + msgspec "
        "JSON encode of every record, without candles, with 1-minute bars, with 1 s + 5 s + 1 min",
        "loops": loops,
        "rate_per_symbol": RATE_PER_SYMBOL,
        "variants": variants,
    }


if __name__ == "__main__":
    main()
