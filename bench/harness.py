"""Shared pieces of the book and market-path benchmarks: the recording, timing, the JSON report.

Not a benchmark itself (``make bench`` runs it as a no-op). Timings are per message with
``perf_counter_ns``; each run is repeated and the run with the lowest mean is kept, which is the
least disturbed by other processes on a shared machine.

Each benchmark runs twice, in child processes: on the interpreted package (the editable install)
and on the mypyc-compiled build in ``bench/.build`` (``make bench`` builds it, see ``setup.py``).
Its report keeps both under ``variants``; a ratio between two paths is only read within one
variant's run.
"""

from __future__ import annotations

import gzip
import importlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BUILD = BENCH / ".build"
VARIANT_ENV = "TRADESTREAM_BENCH_VARIANT"
VARIANTS = ("interpreted", "compiled")
# A module of the compiled hot path: it is an extension module exactly in the compiled build.
PROBE = "tradestream.core.features.engine"
FIXTURES = ROOT / "tests" / "fixtures" / "bybit"
OB200 = FIXTURES / "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_ob200.ndjson.gz"
FINAL_BOOKS = {
    "BTCUSDT": ("65114.2", "65114.3"),
    "ETHUSDT": ("1922.54", "1922.55"),
    "SOLUSDT": ("77.26", "77.27"),
    "DOGEUSDT": ("0.07055", "0.07056"),
}

Summary = dict[str, float]


def recorded_frames() -> list[bytes]:
    """Return the raw ``orderbook.200`` frames of the recording, in receive order."""
    if not OB200.exists():
        sys.exit(f"recording not found: {OB200}")
    with gzip.open(OB200, "rb") as lines:
        return [line.rstrip(b"\n") for line in lines if line.strip()]


def summarize(samples_ns: list[int]) -> Summary:
    """Return count, mean, p50, p99 (µs per message) and messages per second."""
    ordered = sorted(samples_ns)
    mean_us = statistics.fmean(ordered) / 1e3
    return {
        "n": len(ordered),
        "mean_us": round(mean_us, 3),
        "p50_us": ordered[len(ordered) // 2] / 1e3,
        "p99_us": ordered[int(len(ordered) * 0.99)] / 1e3,
        "msgs_per_s": round(1e6 / mean_us),
    }


def best_of(repeats: int, run: Callable[[], list[int]]) -> Summary:
    """Run a timing ``repeats`` times and keep the summary with the lowest mean."""
    return min((summarize(run()) for _ in range(repeats)), key=lambda s: s["mean_us"])


def commit() -> str:
    """Return the short commit the tree is on, plus ``+dirty`` if it has local changes.

    Results the benches write (``bench/results``) do not make the measured code dirty.
    """

    def git(*args: str) -> str:
        command = ["git", *args]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", ".", ":(exclude)bench/results")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def environment() -> dict[str, Any]:
    """Describe the interpreter and machine the figures come from."""
    return {
        "commit": commit(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "recording": OB200.name,
    }


def write_report(name: str, report: dict[str, Any]) -> None:
    """Write ``bench/results/<name>.json`` and echo it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2) + "\n"
    (RESULTS / f"{name}.json").write_text(text)
    print(text)


def looped(frames: Iterable[bytes], loops: int) -> list[bytes]:
    """Repeat the recording ``loops`` times, shifting ``ts``/``cts`` so time keeps moving forward.

    Each pass starts with its snapshots, so books reset; the shift keeps feature windows and the
    publishing interval behaving as on one long stream.
    """
    once = [orjson.loads(frame) for frame in frames]
    span = once[-1]["ts"] - once[0]["ts"] + 100
    out = []
    for k in range(loops):
        for frame in once:
            shifted = {**frame, "ts": frame["ts"] + k * span}
            if "cts" in frame:
                shifted["cts"] = frame["cts"] + k * span
            out.append(orjson.dumps(shifted))
    return out


_TS = re.compile(rb'"(ts|cts|T)":(\d+)')


def paced(frames: Iterable[bytes], rate_per_s: float) -> list[bytes]:
    """Re-stamp a stream as if its frames arrived ``rate_per_s`` a second, in order.

    A replay faster than the recording keeps the recorded timestamps, so exchange time runs
    slower than the stream: a symbol's consecutive updates look ~100 ms apart and every one of
    them is due a feature vector. A live feed at ``rate_per_s`` has exchange time moving with the
    stream; frame i is stamped ``ts`` = t0 + i / rate (ms), ``cts`` keeps its lag behind ``ts``,
    and every trade time ``T`` becomes ``ts``. Levels, ``u`` and ``seq`` are untouched.
    """
    out = []
    t0: int | None = None
    for i, frame in enumerate(frames):
        stamps = {m.group(1): int(m.group(2)) for m in _TS.finditer(frame)}
        ts = stamps.get(b"ts", 0)
        t0 = ts if t0 is None else t0
        new_ts = t0 + int(i * 1000 / rate_per_s)
        lag = ts - stamps.get(b"cts", ts)

        def stamp(match: re.Match[bytes], new_ts: int = new_ts, lag: int = lag) -> bytes:
            value = new_ts - lag if match.group(1) == b"cts" else new_ts
            return b'"%s":%d' % (match.group(1), value)

        out.append(_TS.sub(stamp, frame))
    return out


def child_variant() -> str | None:
    """Return the variant this process times, or None in the parent that starts the children.

    A child checks that it imports what it claims: the compiled build, or the ``.py`` sources.
    """
    variant = os.environ.get(VARIANT_ENV)
    if variant is None:
        return None
    origin = importlib.import_module(PROBE).__file__ or ""
    if origin.endswith(".py") == (variant == "compiled"):
        sys.exit(f"{variant} run imports {PROBE} from {origin}")
    return variant


def run_variants(script: str, argv: list[str]) -> dict[str, Any]:
    """Run ``script`` once per variant in a child process; return each child's JSON by variant.

    ``-P`` keeps the script's folder off the front of ``sys.path``, so that a compiled bench
    module in ``bench/.build`` is not shadowed by its source beside the script.
    """
    results: dict[str, Any] = {}
    for variant in VARIANTS:
        path = [str(BUILD), str(BENCH)] if variant == "compiled" else [str(BENCH)]
        if variant == "compiled" and not BUILD.exists():
            results[variant] = {"skipped": f"{BUILD} not built: run `make bench`"}
            continue
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), VARIANT_ENV: variant}
        command = [sys.executable, "-P", script, *argv]
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)  # noqa: S603
        results[variant] = json.loads(done.stdout)
    return results


def emit(result: dict[str, Any]) -> None:
    """Hand a child's figures to the parent on stdout."""
    print(json.dumps(result))
