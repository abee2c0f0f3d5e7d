"""Topic creation against the real broker."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tradestream.config.settings import Settings
from tradestream.core.errors import HaltError
from tradestream.streams.admin import ensure_topics
from tradestream.streams.topics import ALL_TOPICS, OPS_CONFIG, ORDERBOOK_RAW


async def _describe(settings: Settings, name: str) -> dict[str, object]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described: list[dict[str, object]] = await admin.describe_topics([name])
        return described[0]
    finally:
        await admin.close()


async def test_topics_are_created_once_with_configured_partitions(
    settings: Settings, kafka_cleanup: None
) -> None:
    created = await ensure_topics(settings)
    assert sorted(created) == sorted(settings.scoped(t.name) for t in ALL_TOPICS)
    assert await ensure_topics(settings) == []
    raw = await _describe(settings, settings.scoped(ORDERBOOK_RAW.name))
    assert len(raw["partitions"]) == settings.partitions  # type: ignore[arg-type]
    compacted = await _describe(settings, settings.scoped(OPS_CONFIG.name))
    assert len(compacted["partitions"]) == 1  # type: ignore[arg-type]


async def test_partition_mismatch_halts(settings: Settings, kafka_cleanup: None) -> None:
    await ensure_topics(settings)
    other = settings.model_copy(update={"partitions": settings.partitions + 2})
    with pytest.raises(HaltError, match="partitions"):
        await ensure_topics(other)
