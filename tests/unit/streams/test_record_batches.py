"""Per-partition batches: order kept, full batches split, failed batches sent again first."""

from __future__ import annotations

import asyncio

from tests.support.kafka_fakes import FakeBatchProducer
from tradestream.streams.record_batches import PartitionBatcher

HEADERS = [("source", b"ws0")]


def _batcher(producer: FakeBatchProducer) -> tuple[PartitionBatcher, list[tuple[str, int, int]]]:
    delivered: list[tuple[str, int, int]] = []
    batcher = PartitionBatcher(
        producer,  # type: ignore[arg-type]
        lambda topic, count, first_ms: delivered.append((topic, count, first_ms)),
        lambda: None,
    )
    return batcher, delivered


async def test_records_go_out_as_one_batch_per_partition_in_order() -> None:
    producer = FakeBatchProducer()
    batcher, delivered = _batcher(producer)
    a, b = batcher.slot("t", 0), batcher.slot("t", 1)
    for i in range(5):
        a.append(b"A", b"a%d" % i, HEADERS, 1000 + i)
        b.append(b"B", b"b%d" % i, HEADERS, 2000 + i)
    assert await batcher.flush()
    assert [(s.topic, s.partition, len(s.records)) for s in producer.submitted] == [
        ("t", 0, 5),
        ("t", 1, 5),
    ]
    assert producer.submitted[0].records[0] == (b"A", b"a0", HEADERS, 1000)
    assert producer.values("t", 1) == [b"b%d" % i for i in range(5)]
    producer.ack_all()
    await asyncio.sleep(0)
    assert sorted(delivered) == [("t", 5, 1000), ("t", 5, 2000)]
    assert batcher.in_flight == 0


async def test_a_full_batch_is_split_without_reordering() -> None:
    producer = FakeBatchProducer(batch_size=300)
    batcher, _ = _batcher(producer)
    slot = batcher.slot("t", 0)
    values = [b"%03d" % i + b"x" * 60 for i in range(20)]
    for value in values:
        slot.append(b"K", value, HEADERS, 1)
    assert await batcher.flush()
    assert len(producer.submitted) > 3
    assert producer.values("t", 0) == values


async def test_a_failed_batch_is_sent_again_before_newer_ones() -> None:
    producer = FakeBatchProducer()
    woken: list[bool] = []
    delivered: list[int] = []
    batcher = PartitionBatcher(
        producer,  # type: ignore[arg-type]
        lambda topic, count, first_ms: delivered.append(count),
        lambda: woken.append(True),
    )
    slot = batcher.slot("t", 0)
    slot.append(b"K", b"first", HEADERS, 1)
    await batcher.flush()
    producer.submitted[0].future.set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0)
    assert woken
    assert batcher.has_failed
    slot.append(b"K", b"second", HEADERS, 2)
    assert await batcher.flush()
    assert [s.values for s in producer.submitted] == [[b"first"], [b"first"], [b"second"]]
    assert producer.submitted[1].records == producer.submitted[0].records
    producer.ack_all()
    await asyncio.sleep(0)
    assert delivered == [1, 1]
    assert not batcher.has_failed


async def test_a_batch_the_producer_had_no_room_for_is_kept_in_place() -> None:
    producer = FakeBatchProducer(refuse_next=1)
    batcher, _ = _batcher(producer)
    batcher.slot("t", 0).append(b"K", b"one", HEADERS, 1)
    batcher.slot("t", 1).append(b"J", b"other", HEADERS, 1)
    assert not await batcher.flush()
    batcher.slot("t", 0).append(b"K", b"two", HEADERS, 2)
    assert await batcher.flush()
    assert producer.values("t", 0) == [b"one", b"two"]
    assert producer.values("t", 1) == [b"other"]


async def test_concurrent_flushes_submit_each_batch_once() -> None:
    producer = FakeBatchProducer()
    batcher, _ = _batcher(producer)
    for i in range(3):
        batcher.slot("t", i).append(b"K", b"v%d" % i, HEADERS, 1)
    await asyncio.gather(batcher.flush(), batcher.flush())
    assert sorted(v for s in producer.submitted for v in s.values) == [b"v0", b"v1", b"v2"]
