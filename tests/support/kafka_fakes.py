"""An in-memory stand-in for the batch half of ``AIOKafkaProducer`` (what ingest uses)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.memory_records import MemoryRecords

SentRecord = tuple[bytes, bytes, list[tuple[str, bytes]], int]


@dataclass
class SubmittedBatch:
    """One ``send_batch`` call: where it went, what it held, and its delivery future."""

    topic: str
    partition: int
    records: list[SentRecord]
    future: asyncio.Future[None]

    @property
    def values(self) -> list[bytes]:
        """Return the record values in order."""
        return [value for _, value, _, _ in self.records]


@dataclass
class FakeBatchProducer:
    """Keep submitted batches; acknowledge or fail them when the test says so."""

    partition_count: int = 4
    batch_size: int = 16384
    refuse_next: int = 0
    """``send_batch`` raises ``KafkaTimeoutError`` this many times before accepting batches."""
    submitted: list[SubmittedBatch] = field(default_factory=list)

    def create_batch(self) -> BatchBuilder:
        """Return an empty builder of ``batch_size`` bytes, uncompressed."""
        return BatchBuilder(self.batch_size, 0)

    async def send_batch(self, builder: BatchBuilder, topic: str, *, partition: int) -> Any:
        """Keep the batch (decoded) and return its pending delivery future."""
        if self.refuse_next:
            self.refuse_next -= 1
            raise KafkaTimeoutError
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch = MemoryRecords(bytes(builder._build())).next_batch()
        records = [(r.key, r.value, list(r.headers), r.timestamp) for r in batch]
        self.submitted.append(SubmittedBatch(topic, partition, records, future))
        return future

    async def partitions_for(self, topic: str) -> set[int]:
        """Return the partitions every topic has here."""
        return set(range(self.partition_count))

    async def flush(self) -> None:
        """Acknowledge everything pending, as a broker that is up would."""
        self.ack_all()

    def ack_all(self) -> None:
        """Resolve every pending delivery future successfully."""
        for batch in self.submitted:
            if not batch.future.done():
                batch.future.set_result(None)

    def values(self, topic: str, partition: int) -> list[bytes]:
        """Return the values submitted to one partition, in submission order."""
        return [
            value
            for batch in self.submitted
            if (batch.topic, batch.partition) == (topic, partition)
            for value in batch.values
        ]
