"""``tradestream ingest``: Bybit public WebSocket (or the simulator) → Kafka raw topics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from tradestream.config.files import PipelineConfig, SymbolsConfig
from tradestream.config.settings import Settings, get_settings
from tradestream.exchange.public_ws import PublicStreamConfig
from tradestream.streams.ingest import IngestConfig
from tradestream.streams.ingest_service import IngestService

MAINNET = "wss://stream.bybit.com/v5/public/linear"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ingest command's arguments."""
    parser.add_argument(
        "--url",
        default=MAINNET,
        help="public linear endpoint (Bybit mainnet/testnet or the simulator, "
        "e.g. ws://127.0.0.1:8765/v5/public/linear)",
    )
    parser.add_argument("--symbols-per-connection", type=int, default=25)
    parser.add_argument("--buffer-size", type=int, default=20_000)
    parser.add_argument("--overflow", choices=("block", "drop_and_resync"), default="block")
    parser.add_argument(
        "--health-port", type=int, default=6070, help="port of /health and /metrics (default 6070)"
    )


async def _serve(
    settings: Settings, config: IngestConfig, symbols: SymbolsConfig, health_port: int
) -> None:
    service = IngestService(settings, config, symbols, health_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    await stop.wait()
    await service.stop()


def run(args: argparse.Namespace) -> int:
    """Ingest until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    pipeline = PipelineConfig.load(settings.config_dir)
    config = IngestConfig(
        stream=PublicStreamConfig(url=args.url),
        symbols_per_connection=args.symbols_per_connection,
        buffer_size=args.buffer_size,
        overflow=args.overflow,
        klines=settings.kline_intervals,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings, config, pipeline.symbols, args.health_port))
    return 0
