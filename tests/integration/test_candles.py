"""Candles end to end: simulator → ingest → Kafka → market engine → md.candles → ClickHouse.

The simulator serves ``kline.1``/``kline.5`` built from its own trades (exact decimals) and the
trades themselves; the market engine builds its own bars from those trades (floats). Where both
cover the same minute they must agree exactly, and the ClickHouse 5-minute view, rolled up from
our 1-minute bars, must equal the exchange's 5-minute klines. The replay runs 12 times faster
than recorded (exchange time too), so ten exchange minutes pass in under a minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pybit.unified_trading import HTTP
from redis.asyncio import Redis

from tests.support.recordings import ALL_TOPICS, FINAL_BOOKS
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.demo import free_port
from tradestream.config.files import SymbolConfig, SymbolsConfig
from tradestream.config.settings import Settings
from tradestream.exchange.public_ws import PublicStreamConfig
from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.streams.ingest import IngestConfig
from tradestream.streams.ingest_service import IngestService

pytestmark = pytest.mark.timeout(300)

SYMBOLS = SymbolsConfig(symbols=tuple(SymbolConfig(symbol=s) for s in FINAL_BOOKS))
Rows = dict[tuple[str, int], tuple[Decimal, ...]]


@pytest.fixture
async def simulator() -> AsyncIterator[BybitSimulator]:
    source = ReplaySourceConfig(recording=(ALL_TOPICS,), speed=12, loops=0)
    async with BybitSimulator(SimulatorConfig(port=0, source=source, start_paused=True)) as sim:
        yield sim


@pytest.fixture
async def ingest(settings: Settings, simulator: BybitSimulator) -> AsyncIterator[IngestService]:
    config = IngestConfig(stream=PublicStreamConfig(url=simulator.url), klines=("1", "5"))
    service = IngestService(settings, config, SYMBOLS, health_port=free_port())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


ONE_MINUTE = (
    "SELECT symbol, open_ts_ms, open, high, low, close, volume FROM {db}.candles_1m"
    " WHERE source = %(source)s"
)
FIVE_MINUTES_BYBIT = (
    "SELECT symbol, open_ts_ms, open, high, low, close, volume FROM {db}.candles FINAL"
    " WHERE source = 'exchange' AND interval_s = 300"
)
FIVE_MINUTES_OURS = (
    "SELECT symbol, open_ts_ms, bars, open, high, low, close, volume FROM {db}.candles_5m"
    " WHERE source = 'trades' AND open_ts_ms >= %(first)s"
)
FIRST_MINUTE_OURS = (
    "SELECT min(open_ts_ms) FROM {db}.candles FINAL WHERE source = 'trades' AND interval_s = 60"
)
MINUTES_BYBIT = (
    "SELECT symbol, intDiv(open_ts_ms, 300000) * 300000 AS bucket, count()"
    " FROM {db}.candles_1m WHERE source = 'exchange' GROUP BY symbol, bucket"
)


def _bars(clickhouse: ClickHouseSink, sql: str, params: dict[str, Any] | None = None) -> Rows:
    return {(row[0], row[1]): tuple(row[2:]) for row in clickhouse.query(sql, params)}


def _shared(ours: Rows, bybit: Rows) -> tuple[Rows, Rows]:
    shared = ours.keys() & bybit.keys()
    return {k: ours[k] for k in shared}, {k: bybit[k] for k in shared}


def _same_minutes(clickhouse: ClickHouseSink) -> tuple[Rows, Rows]:
    ours = _bars(clickhouse, ONE_MINUTE, {"source": "trades"})
    return _shared(ours, _bars(clickhouse, ONE_MINUTE, {"source": "exchange"}))


def _whole_five_minutes(clickhouse: ClickHouseSink) -> tuple[Rows, Rows]:
    # Buckets opening after our first trade-built minute (so every minute of them was built
    # whole) whose every minute with trades has landed: as many of ours as of the exchange's.
    first = clickhouse.query(FIRST_MINUTE_OURS)[0][0]
    minutes = _bars(clickhouse, MINUTES_BYBIT)
    rolled = _bars(clickhouse, FIVE_MINUTES_OURS, {"first": first})
    ours = {key: row[1:] for key, row in rolled.items() if minutes.get(key) == (row[0],)}
    return _shared(ours, _bars(clickhouse, FIVE_MINUTES_BYBIT))


@pytest.mark.usefixtures("kafka_cleanup")
async def test_trade_built_bars_agree_with_the_exchanges_klines_and_roll_up_in_clickhouse(
    settings: Settings,
    clickhouse: ClickHouseSink,
    redis: Redis,
    simulator: BybitSimulator,
    ingest: IngestService,
) -> None:
    # A long grace: at 12x, a second of exchange time is 80 ms of broker skew between topics.
    async with running_worker(settings, TRADESTREAM_CANDLE_CLOSE_GRACE_MS="20000"):
        await eventually(
            lambda: sum(len(c["topics"]) for c in simulator.stats()["connections"]) == 20,
            message="ingest subscribed books, trades, tickers and klines 1 and 5",
        )
        simulator.resume()
        await eventually(
            lambda: len(_same_minutes(clickhouse)[0]) >= 8,
            within=150,
            interval=1.0,
            message="trade-built and exchange 1-minute bars of the same minutes",
        )
        await eventually(
            lambda: _whole_five_minutes(clickhouse)[0],
            within=150,
            interval=1.0,
            message="a 5-minute bar rolled up in ClickHouse beside the exchange's",
        )
        ours, bybit = _same_minutes(clickhouse)
        assert ours == bybit
        rolled, klines = _whole_five_minutes(clickhouse)
        assert rolled == klines
        assert await _pybit_bars(simulator) >= 3
    assert await redis.xlen(settings.dlq_stream) == 0


async def _pybit_bars(simulator: BybitSimulator) -> int:
    http = HTTP(testnet=False)
    http.endpoint = simulator.rest_url
    answer: dict[str, Any] = await asyncio.to_thread(
        http.get_kline, category="linear", symbol="BTCUSDT", interval="1", limit=10
    )
    return len(answer["result"]["list"])
