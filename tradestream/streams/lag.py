"""How far the pipeline's consumer group is behind the end of its input topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from tradestream.config.settings import Settings
from tradestream.streams.topics import MARKET_INPUTS, SINK_INPUTS


def consumer_groups(settings: Settings, topic: str) -> list[str]:
    """Return the groups that consume ``topic`` where ``settings.roles`` run (engine, sinks)."""
    if settings.trading_parts:
        return [settings.faust_app_id]
    groups = []
    if "market" in settings.roles and topic in {settings.scoped(t.name) for t in MARKET_INPUTS}:
        groups.append(settings.market_group_id)
    if "sinks" in settings.roles and topic in {settings.scoped(t.name) for t in SINK_INPUTS}:
        groups.append(settings.group_id)
    return groups or [settings.group_id]


async def group_lag(settings: Settings, topics: Iterable[str]) -> dict[str, int]:
    """Return, per topic, the messages not yet committed by the groups that consume it."""
    names = list(topics)
    lag = dict.fromkeys(names, 0)
    by_group: dict[str, list[str]] = {}
    for topic in names:
        for group in consumer_groups(settings, topic):
            by_group.setdefault(group, []).append(topic)
    for group, consumed in by_group.items():
        for topic, behind in (await _group_lag(settings, group, consumed)).items():
            lag[topic] += behind
    return lag


async def _group_lag(settings: Settings, group: str, topics: Iterable[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        lag: dict[str, int] = {}
        for topic in topics:
            partitions = [
                TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))
            ]
            ends = await consumer.end_offsets(partitions)
            behind = 0
            for tp in partitions:
                committed = await consumer.committed(tp)
                behind += ends[tp] - (committed or 0)
            lag[topic] = behind
        return lag
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    found: set[int] | None = consumer.partitions_for_topic(topic)
    if found is None:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
    return found or set()


async def wait_until_consumed(
    settings: Settings, topics: Iterable[str], timeout_s: float = 120.0
) -> dict[str, int]:
    """Wait until the group has committed every message of ``topics`` (twice in a row).

    Two consecutive zero-lag readings make sure records produced by the agents in reaction to the
    last input (book tops) were consumed too.
    """
    names = list(topics)
    deadline = time.monotonic() + timeout_s
    zero_streak = 0
    lag: dict[str, int] = {}
    while time.monotonic() < deadline:
        lag = await group_lag(settings, names)
        zero_streak = zero_streak + 1 if not any(lag.values()) else 0
        if zero_streak >= 2:
            return lag
        await asyncio.sleep(0.5)
    raise TimeoutError(f"consumer group {settings.group_id} still behind after {timeout_s}s: {lag}")
