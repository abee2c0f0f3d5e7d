"""Drive a trading worker from an integration test: its market, its commands, what it wrote.

The market is a valid book top produced on ``md.book.top`` as the market engine would; signals
and kill-switch commands come from the ``tradestream`` command, run as a person would run it;
what the worker did is read back from PostgreSQL and from its topics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import asyncpg
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms
from tradestream.schemas.market import BookTop
from tradestream.streams import topics
from tradestream.streams.lag import wait_until_consumed

BID, ASK = "65000", "65000.1"


async def publish_book_top(settings: Settings, symbol: str, bid: str = BID, ask: str = ASK) -> None:
    """Produce a valid book top of ``symbol`` and wait until the worker consumed it."""
    top = BookTop(symbol=symbol, status="valid", bid_px=bid, bid_sz="5", ask_px=ask, ask_sz="5",
                  u=1, seq=1, exchange_ts_ms=now_ms(), cts_ms=0, recv_ts_ms=now_ms(),
                  produced_ts_ms=now_ms())  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        topic = settings.scoped(topics.BOOK_TOP.name)
        await producer.send_and_wait(topic, msgspec.json.encode(top), key=symbol.encode())
    finally:
        await producer.stop()
    await wait_until_consumed(settings, [topic], timeout_s=60)


def tradestream(settings: Settings, *args: str) -> str:
    """Run the ``tradestream`` command on the test's namespace; return what it printed."""
    env = {**os.environ, "TRADESTREAM_NAMESPACE": settings.namespace,
           "TRADESTREAM_PARTITIONS": "4"}  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our interpreter and arguments
        [sys.executable, "-m", "tradestream.cli.main", *args],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


async def rows(pool: asyncpg.Pool, sql: str) -> list[dict[str, Any]]:
    """Return the rows of ``sql`` as dicts; none while the records agent has not migrated."""
    try:
        return [dict(r) for r in await pool.fetch(sql)]
    except asyncpg.UndefinedTableError:
        return []


async def read_topic(settings: Settings, name: str) -> list[dict[str, Any]]:
    """Return every JSON value on the namespace's topic ``name`` so far (all partitions)."""
    topic = settings.scoped(name)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # what partitions_for_topic reads
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[dict[str, Any]] = []
        while not await _read_up_to(consumer, ends):
            batches = await consumer.getmany(*partitions, timeout_ms=1000)
            values += [json.loads(m.value) for batch in batches.values() for m in batch]
        return values
    finally:
        await consumer.stop()


async def _read_up_to(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
