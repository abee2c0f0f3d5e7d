"""``tradestream worker``: prepare topics and tables, then run the Faust worker."""

from __future__ import annotations

import argparse
import asyncio
import os

from faust.cli.faust import cli

from tradestream.config.files import PipelineConfig
from tradestream.config.settings import Settings, get_settings
from tradestream.core.clock import now_ms
from tradestream.core.market import MarketBooks
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.streams.admin import ensure_topics


def prepare(settings: Settings) -> None:
    """Validate config files, create topics and the ClickHouse schema (idempotent)."""
    PipelineConfig.load(settings.config_dir)
    asyncio.run(ensure_topics(settings))
    sink = ClickHouseSink(settings)
    try:
        sink.migrate()
        books = MarketBooks(clock=now_ms)
        sink.register_feature_names(books.names_id, books.feature_names, now_ms())
    finally:
        sink.close()


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the worker command's arguments."""
    parser.add_argument("-l", "--loglevel", default=None, help="debug, info, warning, error")
    parser.add_argument(
        "--roles",
        default=None,
        help="what to run: market, sinks or market,sinks; or the trading side: trading, or some "
        "of risk,execution,positions,protection,signals (default: TRADESTREAM_ROLES, else "
        "market,sinks)",
    )


def run(args: argparse.Namespace) -> int:
    """Start the worker in this process (blocks until it is stopped)."""
    if args.roles:
        # the app module reads the settings on import, in this process
        os.environ["TRADESTREAM_ROLES"] = args.roles
        get_settings.cache_clear()
    settings = get_settings()
    prepare(settings)
    argv = [
        "-A",
        "tradestream.app",
        "worker",
        "--web-port",
        str(settings.web_port),
        "--web-host",
        settings.web_host,
        "-l",
        args.loglevel or settings.log_level,
    ]
    cli.main(args=argv, prog_name="tradestream worker", standalone_mode=True)
    return 0
