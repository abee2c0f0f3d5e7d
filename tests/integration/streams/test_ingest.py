"""Simulator → ingest → Kafka through the real broker: every frame lands exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from tests.support.recordings import ALL_TOPICS, FINAL_BOOKS
from tests.support.waiting import eventually
from tradestream.cli.demo import free_port
from tradestream.config.files import SymbolConfig, SymbolsConfig
from tradestream.config.settings import Settings
from tradestream.exchange.public_ws import PublicStreamConfig
from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig
from tradestream.sinks.dead_letters import RedisDeadLetterQueue
from tradestream.streams import topics
from tradestream.streams.ingest import IngestConfig
from tradestream.streams.ingest_service import IngestService

SYMBOLS = SymbolsConfig(symbols=tuple(SymbolConfig(symbol=s) for s in FINAL_BOOKS))


@pytest.fixture
async def simulator() -> AsyncIterator[BybitSimulator]:
    config = SimulatorConfig(
        port=0,
        source=ReplaySourceConfig(recording=(ALL_TOPICS,), speed=0, loops=1),
        keep_frames=True,
        start_paused=True,
    )
    async with BybitSimulator(config) as sim:
        yield sim


async def _read_topics(settings: Settings, names: list[str], count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < count:
            batch = await consumer.getmany(timeout_ms=5000)
            if not batch:
                break
            values += [m.value or b"" for records in batch.values() for m in records]
    finally:
        await consumer.stop()
    return values


def _sent_frames(sim: BybitSimulator) -> list[bytes]:
    """Return the market-data frames the simulator wrote to its sockets (not op replies)."""
    frames: list[bytes] = []
    for conn in sim.hub.connections.values():
        frames += [f for f in conn.log.kept or [] if f.startswith(b'{"topic"')]
    return frames


async def test_every_frame_sent_is_on_a_raw_topic_exactly_once(
    settings: Settings, simulator: BybitSimulator, redis: Redis, kafka_cleanup: None
) -> None:
    config = IngestConfig(stream=PublicStreamConfig(url=simulator.url), symbols_per_connection=2)
    service = IngestService(settings, config, SYMBOLS, health_port=free_port())
    await service.start()
    try:
        await eventually(
            lambda: sum(len(c["topics"]) for c in simulator.stats()["connections"]) == 28,
            message="ingest subscribed all 28 topics (book, trades, tickers, 4 klines)",
        )
        simulator.resume()
        await simulator.source_done()
        sent = _sent_frames(simulator)
        await eventually(
            lambda: service.ingestor.produced >= len(sent),
            within=60,
            message="ingest produced every frame",
        )
    finally:
        await service.stop()

    raw_topics = [
        settings.scoped(t.name)
        for t in (topics.ORDERBOOK_RAW, topics.TRADES_RAW, topics.TICKERS_RAW, topics.KLINES_RAW)
    ]
    on_kafka = await _read_topics(settings, raw_topics, len(sent))
    assert len(sent) > 2000
    assert Counter(on_kafka) == Counter(sent)
    assert await RedisDeadLetterQueue(redis, settings.dlq_stream).read_all() == []
