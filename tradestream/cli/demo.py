"""``tradestream demo``: the whole walking skeleton, from nothing to a summary, in one command.

Brings the stack up (and down again if it was not running), starts a market worker and a trading
worker (paper mode), replays the recorded Bybit session, waits until the workers have consumed all
of it, prints what landed where, trades a few manual signals through risk, execution and positions,
trips the kill switch, prints the PostgreSQL records, and stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import time
from pathlib import Path
from typing import Any

from tradestream.cli.demo_trading import forget_previous_run, run_trading
from tradestream.cli.replay import parse_speed, replay_files
from tradestream.cli.stack import project_root, run_stack
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.redis import redis_client
from tradestream.config.settings import Settings
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.lag import wait_until_consumed
from tradestream.streams.replay import ReplaySummary

RECORDING = (
    "tests/fixtures/bybit/BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
)


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the demo command's arguments."""
    parser.add_argument("--file", type=Path, default=None, help="recording to replay")
    parser.add_argument(
        "--speed",
        type=parse_speed,
        default=None,
        help="'max' (default), 1 = as recorded, N = N times faster",
    )
    parser.add_argument(
        "--namespace",
        default="demo",
        help="topic/database prefix of the demo pipeline (default: demo)",
    )
    parser.add_argument(
        "--keep-stack",
        action="store_true",
        help="leave the stack running even if the demo started it",
    )


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def _log_to_file(path: Path) -> None:
    # The client libraries log what is routine on a fresh broker (e.g. aiokafka's
    # GroupCoordinatorNotAvailableError while the coordinator is elected) as errors; with no
    # handler Python prints them bare on the console. They belong in a log, not the demo's output.
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def run(args: argparse.Namespace) -> int:
    """Run the demo and return 0 when every step worked."""
    root = project_root()
    _log_to_file(root / ".stack" / "logs" / "demo.log")
    recording = args.file or root / RECORDING
    settings = Settings(namespace=args.namespace, web_port=free_port())
    started = time.monotonic()
    stack_was_up = run_stack("status", quiet=True) == 0
    if not stack_was_up:
        _say("bringing the stack up (first run downloads Kafka and installs packages)...")
        if run_stack("up") != 0:
            return 1
    worker = WorkerProcess(
        settings.web_port,
        root / ".stack" / "logs" / "demo-worker.log",
        env={"TRADESTREAM_NAMESPACE": settings.namespace},
    )
    trader = WorkerProcess(
        free_port(),
        root / ".stack" / "logs" / "demo-trading-worker.log",
        # The recording is months old: protection keeps the replayed market's time, or its
        # staleness guard would close every demo position as soon as it opened.
        env={
            "TRADESTREAM_NAMESPACE": settings.namespace,
            "TRADESTREAM_ROLES": "trading",
            "TRADESTREAM_PROTECTION_CLOCK": "replay",
        },
    )
    try:
        return asyncio.run(_demo(settings, (worker, trader), recording, args.speed, started))
    finally:
        trader.stop()
        worker.stop()
        _say("workers stopped")
        if not stack_was_up and not args.keep_stack:
            run_stack("down")


async def _demo(
    settings: Settings,
    workers: tuple[WorkerProcess, WorkerProcess],
    recording: Path,
    speed: float | None,
    started: float,
) -> int:
    worker, trader = workers
    _say(f"starting a market worker (namespace {settings.namespace!r}, web {worker.url})")
    _say(f"and a trading worker in paper mode (web {trader.url})...")
    await forget_previous_run(settings)
    await ensure_topics(settings)
    worker.start()
    trader.start()
    await worker.wait_ready()
    await trader.wait_ready()
    _say(f"replaying {recording.name}...")
    summary = await replay_files(settings, [recording], speed)
    consumed = [settings.scoped(t.name) for t in topics.WORKER_INPUTS]
    _say("waiting until the worker has consumed everything...")
    await wait_until_consumed(settings, consumed)
    books = (await worker.get_json("/books/"))["books"]
    await _print_summary(settings, summary, books, worker)
    trading = settings.model_copy(update={"roles": ("trading",)})
    await wait_until_consumed(trading, [settings.scoped(topics.BOOK_TOP.name)])
    _say("trading on paper against the replayed market's last book tops...")
    await run_trading(settings, trader)
    _say(f"done in {time.monotonic() - started:.1f}s")
    return 0 if books and all(b["status"] == "valid" for b in books) else 1


async def _print_summary(
    settings: Settings,
    summary: ReplaySummary,
    books: list[dict[str, Any]],
    worker: WorkerProcess,
) -> None:
    sink = ClickHouseSink(settings)
    db = sink.database
    trades = sink.query("SELECT count() FROM {db}.trades FINAL")[0][0]
    tops = sink.query("SELECT count() FROM {db}.book_top FINAL")[0][0]
    features = sink.query("SELECT count() FROM {db}.features FINAL")[0][0]
    sink.close()
    redis = redis_client(settings)
    dead = await redis.xlen(settings.dlq_stream)
    await redis.aclose()
    out = sys.stdout
    print("\nmessages replayed per topic", file=out)
    for topic, count in sorted(summary.sent.items()):
        print(f"  {topic:28} {count:>7}", file=out)
    valid = sum(b["status"] == "valid" for b in books)
    print(f"\nbooks: {valid}/{len(books)} valid", file=out)
    for book in books:
        bid, ask = book["bids"][0], book["asks"][0]
        print(
            f"  {book['symbol']:10} {book['status']:7} best bid {bid[0]:>10} x {bid[1]:<10}"
            f" best ask {ask[0]:>10} x {ask[1]:<10} u={book['last_u']} gaps={book['gaps']}",
            file=out,
        )
    print(
        f"\nClickHouse ({db}): {trades} distinct trades, {tops} book-top rows, "
        f"{features} feature vectors",
        file=out,
    )
    print(f"dead-letter queue ({settings.dlq_stream}): {dead} entries", file=out)
    print("\nwhere to look next:", file=out)
    hint = f"SELECT * FROM {db}.trades FINAL LIMIT 5"  # noqa: S608 - printed, not run
    print(f"  clickhouse-client --port {settings.clickhouse_port} -q '{hint}'", file=out)
    print(
        f"  TRADESTREAM_NAMESPACE={settings.namespace} tradestream worker, then "
        f"http://127.0.0.1:6066/books/, /features/names/ and /metrics/",
        file=out,
    )
    print(f"  redis-cli XRANGE {settings.dlq_stream} - +", file=out)
    print(
        "  logs: .stack/logs/demo-worker.log, demo-trading-worker.log, demo.log (this run)",
        file=out,
    )
