"""Choose a record's partition from its key, exactly as Kafka's default partitioner does.

Ingest builds its own per-partition batches, so it picks partitions itself; it must pick the same
ones as aiokafka's ``DefaultPartitioner`` (murmur2 of the key, as the Java client does), or a
symbol's raw frames would land on a different partition than Faust and the replay tool put it,
breaking co-partitioning.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import murmur2


def partition_for_key(key: bytes, partitions: Sequence[int]) -> int:
    """Return the partition the default partitioner gives ``key`` among sorted ``partitions``."""
    if not partitions:
        raise ValueError("a topic has at least one partition")
    hashed: int = murmur2(key)
    return partitions[(hashed & 0x7FFFFFFF) % len(partitions)]
