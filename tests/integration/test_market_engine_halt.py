"""A market worker that cannot keep a frame's promise halts instead of dropping the frame.

The DLQ is unreachable, so a malformed frame can neither be processed nor dead-lettered: the
engine's thread fails, the service crashes, and the worker process exits with the frame's
offset uncommitted (a restarted worker reads it again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.lag import group_lag


@pytest.fixture
async def market_worker(settings: Settings, kafka_cleanup: None) -> AsyncIterator[WorkerProcess]:
    """A market-role worker whose DLQ (Redis) points at a port nobody listens on."""
    await ensure_topics(settings)
    redis_nobody_serves = f"redis://127.0.0.1:{free_port()}/0"
    async with running_worker(
        settings, TRADESTREAM_ROLES="market", TRADESTREAM_REDIS_URL=redis_nobody_serves
    ) as proc:
        yield proc


async def test_a_frame_that_cannot_be_dead_lettered_stops_the_worker_uncommitted(
    settings: Settings, market_worker: WorkerProcess
) -> None:
    raw = settings.scoped(topics.ORDERBOOK_RAW.name)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            raw, b'{"topic": "orderbook.50.BTCUSDT", "data": ', key=b"BTCUSDT"
        )
    finally:
        await producer.stop()

    await eventually(
        lambda: market_worker.exit_code() is not None, within=60, message="worker still running"
    )
    assert market_worker.exit_code() != 0
    log = market_worker.log_path.read_text()
    assert "market engine stopped" in log
    assert await group_lag(settings, [raw]) == {raw: 1}
