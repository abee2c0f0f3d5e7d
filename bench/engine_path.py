"""Split the market engine's per-message cost at 100 symbols: core, glue, producing.

``pipeline.py`` measures the worker through the broker, where the cost per message is about
twice ``market_path.py``'s 4-symbol in-process figure. This bench takes the 100-symbol stream of
``pipeline.py`` (stamped as a 10,000 msgs/s feed), wraps its frames in real
``confluent_kafka.Message`` objects with ingest's headers, and times the same frames three
ways, on the compiled build and on the interpreted one:

- ``core``: ``MarketBooks.apply`` / ``apply_trades`` only;
- ``engine_no_producer``: ``MarketBatches.process`` in batches of ``--batch`` (headers, book top
  and features encoding, status checkpoints, metrics) with ``produce`` a no-op;
- ``engine``: the same with the real librdkafka producer to the local broker, delivery reports
  served after each batch, as the engine's step does.

The first third of the frames warms up (books, rings); µs per message is wall time over the
rest, and CPU µs counts librdkafka's threads too.

Usage: ``.venv/bin/python bench/engine_path.py [--frames N] [--batch N] [--repeats N]``
(both variants, as ``market_path.py``; the stream is recorded first if ``pipeline.py`` has not).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import time
from pathlib import Path
from typing import Any

import harness
import pipeline
from confluent_kafka import Message

from tradestream.agents.market import MarketBatches
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms, now_us
from tradestream.core.market import MarketBooks, MarketConfig
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.rdkafka import Outputs

ROOT = Path(__file__).resolve().parent.parent
STREAM = ROOT / "bench" / ".cache" / "stream-100sym-200lv-12loops.ndjson.gz"
MODES = ("core", "engine_no_producer", "engine")


def load_messages(settings: Settings, count: int) -> list[Any]:
    """Return the first ``count`` frames of the stream as Kafka messages with ingest headers."""
    lines = harness.paced(gzip.decompress(STREAM.read_bytes()).split(b"\n"), 10_000)[:count]
    books = settings.scoped(topics.ORDERBOOK_RAW.name)
    trades = settings.scoped(topics.TRADES_RAW.name)
    stamp = time.time_ns()
    messages = []
    for i, raw in enumerate(lines):
        topic = books if raw.startswith(b'{"topic":"orderbook') else trades
        headers = [("recv_ts_ms", b"%d" % (stamp // 1_000_000)), ("recv_ts_us", b"%d" % stamp)]
        messages.append(
            Message(
                topic=topic,
                partition=i % settings.partitions,
                offset=i,
                key=b"K",
                value=raw,
                headers=headers,
                timestamp=(1, stamp // 1_000_000),
            )
        )
    return messages


def run(mode: str, settings: Settings, messages: list[Any], batch: int) -> dict[str, float]:
    """Replay ``messages`` through fresh books in ``mode``; return µs per message."""
    books = MarketBooks(clock=now_ms, config=MarketConfig(features_interval_ms=100))
    outputs = Outputs.connect(settings)
    if mode == "engine_no_producer":
        outputs.produce = lambda *_, **__: None
    batches = MarketBatches(books, outputs, settings, now_ms, now_us)
    trades_topic = settings.scoped(topics.TRADES_RAW.name)
    warm = len(messages) // 3
    started = cpu_started = 0.0
    for i in range(0, len(messages), batch):
        if i >= warm and not started:
            started, cpu_started = time.perf_counter(), time.process_time()
        chunk = messages[i : i + batch]
        if mode == "core":
            for message in chunk:
                if message.topic() == trades_topic:
                    books.apply_trades(message.value(), 1)
                else:
                    books.apply(message.value(), 1)
        else:
            batches.process(chunk)
            outputs.poll()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    outputs.close(10)
    measured = len(messages) - warm
    return {
        "us_per_msg": round(1e6 * wall / measured, 2),
        "cpu_us_per_msg": round(1e6 * cpu / measured, 2),
    }


def measure(frames: int, batch: int, repeats: int) -> dict[str, Any]:
    """Time each mode ``repeats`` times in this process (one variant) and keep the best."""
    settings = Settings(namespace="benchengine", partitions=8)
    asyncio.run(ensure_topics(settings))
    messages = load_messages(settings, frames)
    results: dict[str, Any] = {"frames": len(messages), "batch": batch}
    for mode in MODES:
        runs = [run(mode, settings, messages, batch) for _ in range(repeats)]
        results[mode] = min(runs, key=lambda r: r["us_per_msg"])
    return results


def main() -> None:
    """Measure on both variants and write ``bench/results/engine_path.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150_000)
    parser.add_argument("--batch", type=int, default=20, help="records per processed batch")
    parser.add_argument("--repeats", type=int, default=2, help="runs per mode, best kept")
    args = parser.parse_args()
    if harness.child_variant() is not None:
        harness.emit(measure(args.frames, args.batch, args.repeats))
        return
    if not STREAM.exists():
        pipeline.load_stream(100, 12, regenerate=False, rate=0)  # records and caches it
    argv = ["--frames", str(args.frames), "--batch", str(args.batch)]
    variants = harness.run_variants(__file__, [*argv, "--repeats", str(args.repeats)])
    harness.write_report(
        "engine_path",
        {
            **harness.environment(),
            "what": "µs per raw record at 100 symbols (the pipeline stream, stamped at 10k/s): "
            "the core alone, the engine's batch processing without and with producing",
            "symbols": 100,
            "variants": variants,
        },
    )


if __name__ == "__main__":
    main()
