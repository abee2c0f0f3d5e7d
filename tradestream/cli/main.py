"""The ``tradestream`` command line: one entry point for every chore."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib import import_module

from tradestream.config.files import ConfigFileError

_COMMANDS: dict[str, tuple[str, str]] = {
    "stack": (
        "tradestream.cli.stack",
        "start, stop or inspect the local Kafka/ClickHouse/PostgreSQL/Redis stack",
    ),
    "worker": ("tradestream.cli.worker", "run a Faust worker (agents, tables, web views)"),
    "ingest": ("tradestream.cli.ingest", "Bybit public WebSocket (or the simulator) → Kafka"),
    "replay": ("tradestream.cli.replay", "produce recorded Bybit frames onto the raw topics"),
    "demo": ("tradestream.cli.demo", "stack up, worker, replay the recording, summary, stop"),
    "simulate": ("tradestream.simulator.cli", "run the local Bybit v5 simulator"),
    "trade": ("tradestream.cli.trade", "publish a manual signal: risk, execution, positions"),
    "risk": ("tradestream.cli.risk", "trip or reset the kill switch"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with one sub-parser per command (modules imported lazily)."""
    parser = argparse.ArgumentParser(prog="tradestream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in _COMMANDS.items():
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure_parser(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = build_parser().parse_args(argv)
    runner: Callable[[argparse.Namespace], int] = args.run
    try:
        return runner(args)
    except ConfigFileError as exc:
        print(f"tradestream: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
