"""In-memory stand-ins for the ``confluent_kafka`` clients the market engine uses."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, TopicPartition

Headers = list[tuple[str, bytes]]
DeliveryCallback = Callable[[KafkaError | None, Any], None]


class FakeMessage:
    """A ``confluent_kafka.Message``: its fields are methods."""

    def __init__(  # noqa: PLR0917 - the fields of a message
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes,
        key: bytes | None = b"ABC",
        headers: Headers | None = None,
        timestamp_ms: int = 1_000,
        error: KafkaError | None = None,
    ) -> None:
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._value = value
        self._key = key
        self._headers = [("recv_ts_us", b"1000000")] if headers is None else headers
        self._timestamp_ms = timestamp_ms
        self._error = error

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> Headers:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp_ms)  # TIMESTAMP_CREATE_TIME

    def error(self) -> KafkaError | None:
        return self._error


@dataclass(frozen=True)
class Commit:
    """One ``commit`` call: the offsets per (topic, partition), and whether it was async."""

    offsets: dict[tuple[str, int], int]
    asynchronous: bool


@dataclass
class FakeConsumer:
    """Hand out queued messages from ``poll``/``consume``; keep the commits.

    ``on_poll`` and ``on_consume`` run at the start of every ``poll`` and ``consume``
    (librdkafka serves rebalances in both).
    """

    queued: deque[FakeMessage] = field(default_factory=deque)
    owned: list[TopicPartition] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    polls: list[float] = field(default_factory=list)
    consumes: list[tuple[int, float]] = field(default_factory=list)
    on_poll: Callable[[], None] | None = None
    on_consume: Callable[[], None] | None = None
    subscribed: list[str] | None = None
    on_assign: Callable[[Any, list[TopicPartition]], None] | None = None
    on_revoke: Callable[[Any, list[TopicPartition]], None] | None = None
    closed: bool = False

    def queue(self, *messages: FakeMessage) -> None:
        """Make ``messages`` available to the next fetches."""
        self.queued.extend(messages)

    def poll(self, timeout: float) -> FakeMessage | None:
        self.polls.append(timeout)
        if self.on_poll is not None:
            self.on_poll()
        return self.queued.popleft() if self.queued else None

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[FakeMessage]:
        self.consumes.append((num_messages, timeout))
        if self.on_consume is not None:
            self.on_consume()
        return [self.queued.popleft() for _ in range(min(num_messages, len(self.queued)))]

    def commit(
        self, *, offsets: list[TopicPartition], asynchronous: bool = True
    ) -> list[TopicPartition] | None:
        self.commits.append(
            Commit({(tp.topic, tp.partition): tp.offset for tp in offsets}, asynchronous)
        )
        return None if asynchronous else offsets

    def assignment(self) -> list[TopicPartition]:
        return list(self.owned)

    def subscribe(
        self,
        topics: list[str],
        on_assign: Callable[[Any, list[TopicPartition]], None] | None = None,
        on_revoke: Callable[[Any, list[TopicPartition]], None] | None = None,
    ) -> None:
        self.subscribed = list(topics)
        self.on_assign = on_assign
        self.on_revoke = on_revoke

    def assign_now(self, partitions: list[TopicPartition]) -> None:
        """Own ``partitions`` and tell the subscriber, as a rebalance inside ``poll`` does."""
        self.owned = list(partitions)
        if self.on_assign is not None:
            self.on_assign(self, list(partitions))

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class ProducedRecord:
    """One accepted ``produce`` call."""

    topic: str
    value: bytes
    key: bytes
    partition: int
    timestamp: int
    headers: Headers


@dataclass
class FakeProducer:
    """Keep produced records; acknowledge them through ``on_delivery`` when told to.

    Records are delivered by ``deliver`` (from the test), or by ``poll``/``flush`` when
    ``auto_deliver`` is set; ``on_poll`` runs on every ``poll`` (with its timeout) and may call
    ``deliver`` itself. ``refuse_next`` makes that many ``produce`` calls raise ``BufferError``
    (librdkafka's queue is full).
    """

    on_delivery: DeliveryCallback | None = None
    auto_deliver: bool = False
    refuse_next: int = 0
    on_poll: Callable[[FakeProducer, float], object] | None = None
    records: list[ProducedRecord] = field(default_factory=list)
    pending: deque[ProducedRecord] = field(default_factory=deque)
    polls: list[float] = field(default_factory=list)
    flushes: list[float] = field(default_factory=list)
    refused: int = 0

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        partition: int,
        *,
        timestamp: int = 0,
        headers: Headers | None = None,
    ) -> None:
        if self.refuse_next:
            self.refuse_next -= 1
            self.refused += 1
            raise BufferError("Local: Queue full")
        record = ProducedRecord(topic, value, key, partition, timestamp, list(headers or []))
        self.records.append(record)
        self.pending.append(record)

    def deliver(self, count: int | None = None, error: KafkaError | None = None) -> int:
        """Acknowledge (or fail, with ``error``) the ``count`` oldest pending records (all)."""
        if self.on_delivery is None:
            raise RuntimeError("the fake producer has no delivery callback")
        n = len(self.pending) if count is None else min(count, len(self.pending))
        for _ in range(n):
            record = self.pending.popleft()
            message = FakeMessage(
                record.topic, record.partition, 0, record.value, record.key, record.headers
            )
            self.on_delivery(error, message)
        return n

    def poll(self, timeout: float = -1) -> int:
        self.polls.append(timeout)
        if self.on_poll is not None:
            self.on_poll(self, timeout)
        return self.deliver() if self.auto_deliver else 0

    def flush(self, timeout: float = -1) -> int:
        self.flushes.append(timeout)
        self.deliver()
        return len(self.pending)

    def __len__(self) -> int:
        return len(self.pending)
