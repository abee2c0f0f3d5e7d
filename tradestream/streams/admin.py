"""Create the pipeline's topics on the broker before anything produces to them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tradestream.config.settings import Settings
from tradestream.core.errors import HaltError
from tradestream.streams.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36


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
        if not missing:
            return []
        response = await admin.create_topics(missing)
        created, raced = _created_topics(response.topic_errors)
        if raced:
            # Another process created them between our look and our create: check them too.
            _check_partitions(settings, await _partition_counts(admin, raced), wanted)
        if created:
            await _wait_until_visible(admin, {n: wanted[n].partitions(settings) for n in created})
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()


async def delete_namespace_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Delete every topic of the settings' namespace (changelogs too) and wait until gone.

    For a namespace that is to start from nothing (the demo, tests); never for the empty one.
    """
    if not settings.namespace:
        raise ValueError("refusing to delete the topics of the default (empty) namespace")
    prefix = f"{settings.namespace}."
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
        deadline = time.monotonic() + timeout_s
        while any(t.startswith(prefix) for t in await admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics of {settings.namespace!r} still there")
            await asyncio.sleep(0.2)
        return mine
    finally:
        await admin.close()


async def _partition_counts(
    admin: AIOKafkaAdminClient, names: list[str] | None = None
) -> dict[str, int]:
    names = names if names is not None else list(await admin.list_topics())
    if not names:
        return {}
    described = await admin.describe_topics(names)
    return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


async def _wait_until_visible(
    admin: AIOKafkaAdminClient, expected: dict[str, int], timeout_s: float = 30.0
) -> None:
    # A new topic's metadata reaches the brokers' caches after create_topics returns; producers
    # and the partition check must not see it half-made.
    deadline = time.monotonic() + timeout_s
    while True:
        counts = await _partition_counts(admin, list(expected))
        if all(counts.get(name) == n for name, n in expected.items()):
            return
        if time.monotonic() > deadline:
            raise HaltError(f"created topics not visible after {timeout_s}s: {counts}")
        await asyncio.sleep(0.1)


def _created_topics(topic_errors: list[tuple[Any, ...]]) -> tuple[list[str], list[str]]:
    created: list[str] = []
    raced: list[str] = []
    for name, code, *rest in topic_errors:
        if code == 0:
            created.append(name)
        elif code == _TOPIC_ALREADY_EXISTS:
            raced.append(name)
        else:
            message = rest[0] if rest else ""
            raise HaltError(f"cannot create topic {name}: error {code} {message}")
    return created, raced


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
