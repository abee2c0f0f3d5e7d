"""Fixtures for tests that talk to the real stack started by ``tradestream stack up``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.support.recordings import ALL_TOPICS
from tests.support.workers import running_worker
from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.sinks.postgres import connect, schema_name
from tradestream.streams.admin import delete_namespace_topics


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration as an integration test."""
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def settings() -> Settings:
    """Settings of a pipeline of its own: fresh topics, group, database and DLQ stream."""
    return Settings(namespace=f"t{uuid.uuid4().hex[:10]}", web_port=free_port(), partitions=4)


@pytest.fixture
def clickhouse(settings: Settings) -> Iterator[ClickHouseSink]:
    """A ClickHouse sink on the test database, dropped afterwards."""
    sink = ClickHouseSink(settings)
    sink.migrate()
    yield sink
    sink.query(f"DROP DATABASE IF EXISTS {sink.database}")
    sink.close()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A Redis client; the test's DLQ stream is deleted afterwards."""
    client = Redis.from_url(settings.redis_url.get_secret_value())
    yield client
    await client.delete(settings.dlq_stream)
    await client.aclose()


@pytest.fixture
async def kafka_cleanup(settings: Settings) -> AsyncIterator[None]:
    """Delete the test namespace's topics afterwards."""
    yield
    await delete_namespace_topics(settings)


@pytest.fixture
async def worker(
    settings: Settings, clickhouse: ClickHouseSink, kafka_cleanup: None
) -> AsyncIterator[WorkerProcess]:
    """A real ``tradestream worker`` process on the test namespace."""
    async with running_worker(settings) as proc:
        yield proc


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The test namespace's PostgreSQL schema (migrated), dropped afterwards."""
    pool = await connect(settings)
    yield pool
    await pool.execute(f'DROP SCHEMA "{schema_name(settings)}" CASCADE')
    await pool.close()


@pytest.fixture
async def sim() -> AsyncIterator[BybitSimulator]:
    """A Bybit simulator that replayed the recording once: every book ready and still."""
    source = ReplaySourceConfig(recording=(ALL_TOPICS,), speed=0.0, loops=1)
    simulator = BybitSimulator(SimulatorConfig(port=0, source=source))
    await simulator.start()
    try:
        await simulator.source_done()
        yield simulator
    finally:
        await simulator.stop()
