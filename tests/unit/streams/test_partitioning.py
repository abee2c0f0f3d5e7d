"""Ingest picks the same partition for a key as aiokafka's (and Java's) default partitioner."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from tradestream.streams.partitioning import partition_for_key

SYMBOLS = [f"{base}{n}USDT".encode() for base in ("BTC", "ETH", "SOL", "DOGE") for n in range(60)]


@pytest.mark.parametrize(
    ("key", "expected"),
    # the Java client's choices among 1000 partitions (kafka-python's partitioner test vectors)
    [(b"", 681), (b"a", 524), (b"ab", 434), (b"abc", 107), (b"123456789", 566), (b"\x00 ", 742)],
)
def test_matches_the_java_client(key: bytes, expected: int) -> None:
    assert partition_for_key(key, range(1000)) == expected


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 50, 64, 100, 1000])
def test_matches_aiokafkas_default_partitioner(count: int) -> None:
    rng = random.Random(count)
    keys = SYMBOLS + [rng.randbytes(rng.randrange(1, 40)) for _ in range(500)]
    partitions = list(range(count))
    partitioner = DefaultPartitioner()
    for key in keys:
        assert partition_for_key(key, partitions) == partitioner(key, partitions, partitions)


def test_a_topic_without_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for_key(b"BTCUSDT", [])
