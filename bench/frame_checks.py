"""Time what refusing insane frames costs per order-book message: ``check_orderbook`` alone.

``MarketBooks.apply`` decodes each frame and, before it touches a book, checks every value
(``core/frame_checks.py``: prices finite and positive, sizes finite and not negative, ``u``/``seq``
/``ts`` in range, symbol and depth of the topic). This bench decodes the recorded
``orderbook.200`` stream (4 symbols, ``--loops`` times) once, then times, per message, the decode
alone and the decode followed by the checks, on the interpreted package and the compiled build;
the difference is the checks' cost. ``bench/market_path.py`` measures the whole path with them.

Usage: ``.venv/bin/python bench/frame_checks.py [--loops N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import harness

from tradestream.core.frame_checks import check_orderbook
from tradestream.core.market import decode_orderbook


def _time_decode(frames: list[bytes]) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for raw in frames:
        start = clock()
        decode_orderbook(raw)
        samples.append(clock() - start)
    return samples


def _time_decode_and_check(frames: list[bytes]) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for raw in frames:
        start = clock()
        check_orderbook(decode_orderbook(raw))
        samples.append(clock() - start)
    return samples


def measure(loops: int, repeats: int) -> dict[str, Any]:
    """Return decode-only and decode+check timings and their difference, µs per message."""
    frames = harness.looped(harness.recorded_frames(), loops)
    levels = [len(f.data.b) + len(f.data.a) for f in map(decode_orderbook, frames)]
    decode = harness.best_of(repeats, lambda: _time_decode(frames))
    checked = harness.best_of(repeats, lambda: _time_decode_and_check(frames))
    return {
        "messages": len(frames),
        "levels_per_message_mean": round(sum(levels) / len(levels), 1),
        "decode": decode,
        "decode_and_check": checked,
        "check_cost_p50_us": round(checked["p50_us"] - decode["p50_us"], 3),
        "check_cost_mean_us": round(checked["mean_us"] - decode["mean_us"], 3),
    }


def main() -> None:
    """Time both variants and write bench/results/frame_checks.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=5, help="replays of the recording")
    parser.add_argument("--repeats", type=int, default=7, help="runs per path, best kept")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.loops, args.repeats))
        return
    argv = ["--loops", str(args.loops), "--repeats", str(args.repeats)]
    harness.write_report(
        "frame_checks",
        {
            **harness.environment(),
            "what": "µs per order-book message: msgspec decode alone vs decode + check_orderbook",
            "loops": args.loops,
            "repeats": args.repeats,
            "variants": harness.run_variants(__file__, argv),
        },
    )


if __name__ == "__main__":
    main()
