"""Create the pipeline's topics on the broker before anything produces to them."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tradestream.config.settings import Settings
from tradestream.core.errors import HaltError
from tradestream.streams.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics; refuse to run on a topic with the wrong partition count.

    A raw topic with fewer partitions than its peers would silently break co-partitioning, so a
    mismatch halts instead of being papered over.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = await _partition_counts(admin)
        wanted = {settings.scoped(spec.name): spec for spec in ALL_TOPICS}
        _check_partitions(settings, existing, wanted)
        missing = [
            NewTopic(
                name=name,
                num_partitions=spec.partitions(settings),
                replication_factor=1,
                topic_configs=spec.configs(),
            )
            for name, spec in wanted.items()
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
            log.info("created topics: %s", ", ".join(t.name for t in missing))
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    names = await admin.list_topics()
    if not names:
        return {}
    described = await admin.describe_topics(list(names))
    return {t["topic"]: len(t["partitions"]) for t in described}


def _check_partitions(
    settings: Settings, existing: dict[str, int], wanted: dict[str, TopicSpec]
) -> None:
    for name, spec in wanted.items():
        have = existing.get(name)
        if have is not None and have != spec.partitions(settings):
            raise HaltError(
                f"topic {name} has {have} partitions but the pipeline is configured for "
                f"{spec.partitions(settings)}; co-partitioned agents would read wrong keys. "
                "Delete the topic or set TRADESTREAM_PARTITIONS to match."
            )
