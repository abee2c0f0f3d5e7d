"""Send records to Kafka as one batch per partition, with one delivery future per batch.

aiokafka's ``send()`` costs tens of µs per record (a metadata check, the partitioner, a
``TopicPartition``, a future per record resolved one by one on the ack); at 20,000 frames/s that
alone fills a core. Appending records to a ``BatchBuilder`` per partition and handing each whole
batch to ``send_batch`` pays those costs once per batch. The producer's guarantees hold for such
batches: ``acks=all`` and idempotence apply, and the batches of one partition reach the broker in
the order they were submitted. A batch the broker never acknowledges is built again from its
records and sent again, ahead of newer batches: nothing is dropped.

Record timestamps are the frames' receive times, so a re-sent batch is identical to the first one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from tradestream.core.errors import HaltError
from tradestream.web import metrics

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
Record = tuple[bytes, bytes, Headers, int]
"""Key, value, headers and timestamp (ms) of one record."""
DeliveryHandler = Callable[[str, int, int], None]
"""Called with (topic, records delivered, timestamp of the batch's first record) on each ack."""


@dataclass(slots=True)
class PendingBatch:
    """Records on their way to one partition, kept until the broker acknowledges them."""

    topic: str
    partition: int
    records: list[Record] = field(default_factory=list)

    @property
    def first_ms(self) -> int:
        """Return the timestamp of the oldest record (latency is measured from it)."""
        return self.records[0][3]


# A batch and the builder holding its encoded records (None: rebuild from the records).
_Built = tuple[PendingBatch, Any]


class PartitionSlot:
    """Collect the records for one partition into the batch being built."""

    __slots__ = ("_batch", "_builder", "_full", "_new_builder", "partition", "topic")

    def __init__(
        self, topic: str, partition: int, new_builder: Callable[[], Any], full: deque[_Built]
    ) -> None:
        self.topic = topic
        self.partition = partition
        self._new_builder = new_builder
        self._full = full
        self._batch: PendingBatch | None = None
        self._builder: Any = None

    def append(self, key: bytes, value: bytes, headers: Headers, timestamp_ms: int) -> None:
        """Add a record; a batch that is full goes to the send queue and a new one starts."""
        batch = self._batch
        if (
            batch is None
            or self._builder.append(timestamp=timestamp_ms, key=key, value=value, headers=headers)
            is None
        ):
            batch = self._restart()
            # the first record always fits: a builder accepts one record of any size
            self._builder.append(timestamp=timestamp_ms, key=key, value=value, headers=headers)
        batch.records.append((key, value, headers, timestamp_ms))

    def _restart(self) -> PendingBatch:
        self.take()
        self._builder = self._new_builder()
        batch = self._batch = PendingBatch(self.topic, self.partition)
        return batch

    def take(self) -> None:
        """Move the batch being built, if it has records, to the send queue."""
        if self._batch is not None and self._batch.records:
            self._full.append((self._batch, self._builder))
        self._batch = None
        self._builder = None


class PartitionBatcher:
    """Own the per-partition slots, submit their batches in order, and re-send failed ones."""

    def __init__(
        self, producer: AIOKafkaProducer, on_delivered: DeliveryHandler, wake: Callable[[], None]
    ) -> None:
        self._producer = producer
        self._on_delivered = on_delivered
        self._wake = wake
        self._slots: dict[tuple[str, int], PartitionSlot] = {}
        self._queued: deque[_Built] = deque()
        self._failed: deque[PendingBatch] = deque()
        self._flushing = asyncio.Lock()  # two flushes at once could submit one batch twice
        self.in_flight = 0
        """Records submitted and not yet acknowledged or failed."""

    def slot(self, topic: str, partition: int) -> PartitionSlot:
        """Return the slot collecting records for ``topic``/``partition``."""
        key = (topic, partition)
        found = self._slots.get(key)
        if found is None:
            found = self._slots[key] = PartitionSlot(
                topic, partition, self._producer.create_batch, self._queued
            )
        return found

    @property
    def has_failed(self) -> bool:
        """Tell whether batches wait to be sent again."""
        return bool(self._failed)

    async def flush(self) -> bool:
        """Submit failed batches again, then every batch built so far; False if Kafka stalled."""
        async with self._flushing:
            return await self._flush()

    async def _flush(self) -> bool:
        while self._failed:
            batch = self._failed[0]
            if not await self._submit(batch, self._rebuild(batch)):
                return False
            self._failed.popleft()
        for slot in self._slots.values():
            slot.take()
        while self._queued:
            batch, builder = self._queued[0]
            if not await self._submit(batch, builder or self._rebuild(batch)):
                # a builder is submitted once; keep the records and rebuild on the next flush
                self._queued[0] = (batch, None)
                return False
            self._queued.popleft()
        return True

    async def _submit(self, batch: PendingBatch, builder: Any) -> bool:
        # A closed builder is sent without waiting for linger_ms: ingest batches already.
        builder.close()
        try:
            future = await self._producer.send_batch(
                builder, batch.topic, partition=batch.partition
            )
        except KafkaTimeoutError:
            log.warning("%s[%d]: no room in the producer; retrying", batch.topic, batch.partition)
            return False
        self.in_flight += len(batch.records)
        future.add_done_callback(partial(self._on_done, batch))
        return True

    def _rebuild(self, batch: PendingBatch) -> Any:
        # Same records, timestamps and batch size as the first build, so they fit again.
        builder = self._producer.create_batch()
        for key, value, headers, timestamp_ms in batch.records:
            added = builder.append(timestamp=timestamp_ms, key=key, value=value, headers=headers)
            if added is None:
                raise HaltError(f"a re-sent batch for {batch.topic}[{batch.partition}] overflowed")
        return builder

    def _on_done(self, batch: PendingBatch, done: Any) -> None:
        self.in_flight -= len(batch.records)
        if done.cancelled() or done.exception() is not None:
            metrics.ingest_produce_retries.inc(len(batch.records))
            log.warning(
                "delivery of %d records to %s[%d] failed (%s); sending again",
                len(batch.records),
                batch.topic,
                batch.partition,
                None if done.cancelled() else done.exception(),
            )
            self._failed.append(batch)
            self._wake()
            return
        self._on_delivered(batch.topic, len(batch.records), batch.first_ms)
