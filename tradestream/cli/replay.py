"""``tradestream replay FILE...``: recorded frames onto the raw topics."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tradestream.config.redis import redis_client
from tradestream.config.settings import Settings, get_settings
from tradestream.sinks.dead_letters import RedisDeadLetterQueue
from tradestream.streams.admin import ensure_topics
from tradestream.streams.producer import build_producer
from tradestream.streams.replay import Replayer, ReplaySummary, merge_recordings


def parse_speed(text: str) -> float | None:
    """Parse ``max`` (as fast as possible) or a positive multiple of recorded time."""
    if text == "max":
        return None
    speed = float(text)
    if speed <= 0:
        raise argparse.ArgumentTypeError("speed must be 'max' or a positive number")
    return speed


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the replay command's arguments."""
    parser.add_argument("files", nargs="+", type=Path, help="gzip NDJSON recordings")
    parser.add_argument(
        "--speed",
        type=parse_speed,
        default=None,
        help="'max' (default: as fast as possible), 1 = as recorded, N = N times faster",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _print_progress(summary: ReplaySummary) -> None:
    rate = summary.total / summary.seconds if summary.seconds else 0.0
    print(f"replay: {summary.total} frames sent ({rate:,.0f}/s)", file=sys.stderr, flush=True)


async def replay_files(
    settings: Settings, files: list[Path], speed: float | None, progress: bool = True
) -> ReplaySummary:
    """Replay ``files`` onto the raw topics of ``settings`` and return what was sent."""
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"replay: no such file: {', '.join(map(str, missing))}")
    await ensure_topics(settings)
    redis = redis_client(settings)
    producer = build_producer(settings)
    await producer.start()
    try:
        replayer = Replayer(
            settings,
            producer,
            RedisDeadLetterQueue(redis, settings.dlq_stream),
            progress=_print_progress if progress else None,
        )
        return await replayer.run(merge_recordings(files), speed)
    finally:
        await producer.stop()
        await redis.aclose()


def run(args: argparse.Namespace) -> int:
    """Replay the files and print what went where."""
    summary = asyncio.run(replay_files(get_settings(), args.files, args.speed, not args.quiet))
    for topic, count in sorted(summary.sent.items()):
        print(f"{topic:32} {count:>8} frames")
    print(f"{'dead-lettered':32} {summary.dead_lettered:>8} frames")
    print(f"replayed {summary.total} frames in {summary.seconds:.2f}s")
    return 0
