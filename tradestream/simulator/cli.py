"""Run the simulator from the command line: ``tradestream simulate``.

The main CLI adds a ``simulate`` sub-command, hands its parser to ``configure_parser`` and calls
``run`` with the parsed arguments. ``run`` prints one banner line with the URLs, then one
progress line (frames sent per second) every ``--progress-interval`` seconds, until interrupted
or ``--duration`` elapses.

Faults given with ``--fault NAME[:key=value,...]`` are applied at start, e.g.
``--fault slow:delay_ms=5``, ``--fault stall:symbol=BTCUSDT`` or, repeated every 10 s,
``--fault gap:symbol=ETHUSDT,every_s=10``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from tradestream.core.errors import BadInputError
from tradestream.simulator.config import (
    ReplaySourceConfig,
    SimulatorConfig,
    SyntheticSourceConfig,
)
from tradestream.simulator.faults import PERSISTENT_KINDS, FaultSpec
from tradestream.simulator.server import BybitSimulator


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` options to the given (sub-)parser."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    parser.add_argument("--source", choices=("replay", "synthetic"), default="replay")
    parser.add_argument(
        "--recording",
        type=Path,
        action="append",
        required=True,
        help="recorded Bybit frames (.ndjson or .ndjson.gz); repeat for several files",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="replay: 1 recorded, 0 max")
    parser.add_argument("--loops", type=int, default=0, help="replay: passes, 0 forever")
    parser.add_argument("--symbols", type=int, default=None, help="symbols to serve")
    parser.add_argument("--no-rebase-time", action="store_true", help="replay: keep recorded ts")
    parser.add_argument("--rate", type=float, default=1000.0, help="synthetic: messages/s, 0 max")
    parser.add_argument("--messages", type=int, default=0, help="synthetic: stop after N, 0 never")
    parser.add_argument("--seed", type=int, default=0, help="synthetic: random seed")
    parser.add_argument("--idle-timeout", type=float, default=600.0, help="seconds without ping")
    parser.add_argument("--start-paused", action="store_true", help="hold the source until resumed")
    parser.add_argument("--frame-log-dir", type=Path, default=None, help="log sent frames here")
    parser.add_argument("--backlog-limit", type=int, default=5000, help="frames per connection")
    parser.add_argument("--op-latency-ms", type=float, default=0.0, help="delay op replies (pybit)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME[:key=value,...]", help="inject"
    )
    parser.add_argument("--progress-interval", type=float, default=5.0, help="seconds, 0 quiet")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after N s, 0 never")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (or ``--duration``); return the process exit code."""
    try:
        config = build_config(args)
    except (ValidationError, BadInputError) as exc:
        print(f"tradestream simulate: invalid options: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config, args.progress_interval, args.duration))
    except (BadInputError, OSError) as exc:
        print(f"tradestream simulate: cannot start: {exc}", file=sys.stderr)
        return 2


def build_config(args: argparse.Namespace) -> SimulatorConfig:
    """Turn parsed options into a validated simulator configuration."""
    recording = tuple(args.recording)
    source: ReplaySourceConfig | SyntheticSourceConfig
    if args.source == "replay":
        source = ReplaySourceConfig(
            recording=recording,
            speed=args.speed,
            loops=args.loops,
            symbols=args.symbols,
            rebase_time=not args.no_rebase_time,
        )
    else:
        source = SyntheticSourceConfig(
            recording=recording,
            symbols=args.symbols or 4,
            rate=args.rate,
            messages=args.messages,
            seed=args.seed,
        )
    return SimulatorConfig(
        host=args.host,
        port=args.port,
        source=source,
        idle_timeout_s=args.idle_timeout,
        start_paused=args.start_paused,
        frame_log_dir=args.frame_log_dir,
        backlog_limit=args.backlog_limit,
        op_latency_ms=args.op_latency_ms,
        faults=tuple(parse_fault(text) for text in args.fault),
    )


def parse_fault(text: str) -> FaultSpec:
    """Parse ``NAME[:key=value,...]`` into a fault spec.

    At start no client is connected yet, so a one-off fault must repeat (``every_s``) to act.
    """
    name, _, rest = text.partition(":")
    fields: dict[str, str] = {"fault": name.strip()}
    for pair in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = pair.partition("=")
        if not sep:
            raise BadInputError(f"fault option {pair!r} is not key=value")
        fields[key.strip()] = value.strip()
    spec = FaultSpec.model_validate(fields)
    if spec.fault not in PERSISTENT_KINDS and spec.every_s is None:
        raise BadInputError(f"{spec.fault} happens once, before anyone connects: add every_s=N")
    return spec


async def _serve(config: SimulatorConfig, interval: float, duration: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    async with BybitSimulator(config) as sim:
        print(
            f"tradestream simulate: ws {sim.url}  admin {sim.admin_url}  "
            f"source {config.source.kind}  symbols {len(sim.symbols)}",
            flush=True,
        )
        reporter = asyncio.create_task(_report(sim, interval))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration or None)
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
    return 0


async def _report(sim: BybitSimulator, interval: float) -> None:
    if interval <= 0:
        return
    last_frames, last_bytes = sim.sent_totals()
    last_time = time.monotonic()
    while True:
        await asyncio.sleep(interval)
        frames, sent_bytes = sim.sent_totals()
        now = time.monotonic()
        elapsed = max(now - last_time, 1e-9)
        print(
            f"sent {(frames - last_frames) / elapsed:,.0f} frames/s "
            f"({(sent_bytes - last_bytes) / elapsed / 1e6:,.1f} MB/s), "
            f"{len(sim.hub.connections)} connection(s), {frames:,} frames in total",
            flush=True,
        )
        last_frames, last_bytes, last_time = frames, sent_bytes, now
