"""librdkafka (``confluent-kafka``) clients for the market engine, and its delivery ledger.

At 10,000 frames/s the market engine's fetches are small and frequent, and a client's cost per
fetch decides its CPU: a bare aiokafka consumer took 57.7% of a core (60.6 µs per record) where
librdkafka's took 20.3% (21.3 µs), its fetcher, protocol and record parsing running in C threads
of their own; latency was alike (p50 2.0 and 1.7 ms; ``bench/kafka_clients.py``).
Faust's agents stay on aiokafka: they handle far fewer records.

Nagle's algorithm is off on both clients (librdkafka leaves it on by default): their requests
are small, and one held back for the previous segment's ACK is latency on every record in it.

The producer's threads may run under Linux's ``SCHED_BATCH`` policy
(``market_producer_batch_sched``). librdkafka wakes its broker thread whenever a record enters an
empty partition queue; with ~16 output partitions and a 2 ms linger that was nearly every output,
and each wake-up preempted the engine mid-batch (pinned at 10k msgs/s: 2,607 involuntary context
switches/s of the engine thread, 3,423 wake-ups/s of the producer's thread, which took 7.0% of a
core). A ``SCHED_BATCH`` thread does not preempt on wake-up: it runs when the engine waits for its
next fetch, at most one batch later, or at the end of the engine's time slice (measured: 50
involuntary switches/s, 1,322 wake-ups/s, 4.4% of a core). Threads inherit the policy of the
thread that creates them, so the producer is created from a thread switched to ``SCHED_BATCH``
for the call; its broker threads, started later by its own main thread, inherit it too.

Delivery is tracked per output partition: an idempotent producer acknowledges a partition's
records in the order they were produced, so "the first n records produced to (topic, p) are
acknowledged" is one counter per partition, and a set of such counts (a ``DeliveryMark``)
says when every output caused by a batch of inputs is safe and those inputs may be committed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from tradestream.config.settings import Settings
from tradestream.core.errors import HaltError

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
PartitionKey = tuple[str, int]
DeliveryMark = dict[PartitionKey, int]
"""Records produced so far per (topic, partition): acknowledged once each count is reached."""
FULL_QUEUE_WAIT_S = 0.05
"""How long to serve deliveries when librdkafka's send queue is full before trying again."""


def _log_error(error: KafkaError) -> None:
    # librdkafka reports connection trouble here and goes on retrying by itself.
    log.warning("kafka client: %s", error)


def consumer_config(settings: Settings, group_id: str, **callbacks: Any) -> dict[str, Any]:
    """Return the market engine's consumer settings: own group, range assignor, manual commits.

    ``queued.max.messages.kbytes`` bounds what librdkafka prefetches (memory);
    offsets are committed explicitly after the outputs are acknowledged.
    """
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": group_id,
        "client.id": f"{settings.app_id}-market",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "range",
        "socket.nagle.disable": True,
        "max.partition.fetch.bytes": settings.market_partition_fetch_bytes,
        "fetch.max.bytes": settings.market_fetch_max_bytes,
        "fetch.min.bytes": settings.market_fetch_min_bytes,
        "fetch.wait.max.ms": settings.market_fetch_max_wait_ms,
        "queued.max.messages.kbytes": settings.market_prefetch_kbytes,
        "error_cb": _log_error,
        **callbacks,
    }


def producer_config(settings: Settings, **callbacks: Any) -> dict[str, Any]:
    """Return the market engine's producer settings: idempotent (acks=all), uncompressed."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "client.id": f"{settings.app_id}-market",
        "enable.idempotence": True,
        "compression.type": "none",
        "linger.ms": settings.market_linger_ms,
        "socket.nagle.disable": True,
        "error_cb": _log_error,
        **callbacks,
    }


@contextmanager
def batch_scheduled() -> Iterator[None]:
    """Run the body with the calling thread under ``SCHED_BATCH``: threads it starts inherit it.

    Where the policy is not available (not Linux, or refused), the body runs unchanged.
    """
    try:
        policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError) as exc:
        log.info("SCHED_BATCH not available (%s); librdkafka threads keep the default", exc)
        yield
        return
    try:
        yield
    finally:
        os.sched_setscheduler(0, policy, param)


class DeliveryLedger:
    """Count produced and acknowledged records per output partition; keep the first failure."""

    def __init__(self) -> None:
        self.produced: DeliveryMark = {}
        self.delivered: DeliveryMark = {}
        self.failure: KafkaError | None = None

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        """Count an acknowledgement (librdkafka calls this from ``poll``/``flush``)."""
        if error is not None:
            if self.failure is None:
                self.failure = error
            return
        key = (message.topic() or "", message.partition() or 0)
        self.delivered[key] = self.delivered.get(key, 0) + 1

    def mark(self) -> DeliveryMark:
        """Return what must be acknowledged for everything produced so far to be safe."""
        return dict(self.produced)

    def covers(self, mark: DeliveryMark) -> bool:
        """Tell whether every record counted in ``mark`` is acknowledged."""
        delivered = self.delivered
        return all(delivered.get(key, 0) >= count for key, count in mark.items())

    def raise_failure(self) -> None:
        """Halt if a delivery failed: its inputs stay uncommitted and a restart re-reads them.

        An idempotent producer retries by itself until ``message.timeout.ms``; a failure here
        means the broker was gone that long or refused the producer for good.
        """
        if self.failure is not None:
            raise HaltError(f"output delivery failed: {self.failure}")


class ProducerSlot:
    """Produce records to one output partition (the market engine's output per symbol key)."""

    __slots__ = ("_outputs", "partition", "topic")

    def __init__(self, outputs: Outputs, topic: str, partition: int) -> None:
        self._outputs = outputs
        self.topic = topic
        self.partition = partition

    def append(self, key: bytes, value: bytes, headers: Headers, timestamp_ms: int) -> None:
        """Hand a record to librdkafka's send queue (waiting for room while it is full)."""
        outputs = self._outputs
        while True:
            try:
                outputs.produce(
                    self.topic, value, key, self.partition, timestamp=timestamp_ms, headers=headers
                )
                break
            except BufferError:
                outputs.producer.poll(FULL_QUEUE_WAIT_S)  # full: serve acknowledgements first
        produced = outputs.ledger.produced
        where = (self.topic, self.partition)
        produced[where] = produced.get(where, 0) + 1


class Outputs:
    """The market engine's producer: per-partition slots, the delivery ledger, back-pressure."""

    def __init__(self, producer: Producer, ledger: DeliveryLedger) -> None:
        self.producer = producer
        self.produce: Callable[..., None] = producer.produce
        self.ledger = ledger

    @classmethod
    def connect(cls, settings: Settings) -> Outputs:
        """Create the librdkafka producer (it connects in the background)."""
        ledger = DeliveryLedger()
        config = producer_config(settings, on_delivery=ledger.on_delivery)
        if settings.market_producer_batch_sched:
            with batch_scheduled():
                return cls(Producer(config), ledger)
        return cls(Producer(config), ledger)

    def slot(self, topic: str, partition: int) -> ProducerSlot:
        """Return the slot producing to ``partition`` of ``topic``."""
        return ProducerSlot(self, topic, partition)

    def poll(self, timeout_s: float = 0.0) -> None:
        """Serve delivery reports; halt if one failed."""
        self.producer.poll(timeout_s)
        self.ledger.raise_failure()

    def wait_delivered(self, mark: DeliveryMark, timeout_s: float) -> None:
        """Serve deliveries until ``mark`` is acknowledged; halt on a failure or the timeout."""
        deadline = time.monotonic() + timeout_s
        while not self.ledger.covers(mark):
            if time.monotonic() > deadline:
                raise HaltError(f"outputs not acknowledged within {timeout_s}s")
            self.poll(0.01)

    def close(self, timeout_s: float) -> int:
        """Flush what is queued; return how many records were left undelivered."""
        try:
            left: int = self.producer.flush(timeout_s)
        except KafkaException as exc:
            log.warning("market producer flush failed: %s", exc)
            return len(self.producer)
        return left


def commit_owned(
    consumer: Consumer,
    offsets: dict[tuple[str, int], int],
    owned: set[tuple[str, int]],
    *,
    asynchronous: bool,
    name: str,
) -> None:
    """Commit ``offsets`` of the partitions in ``owned``; a refused commit is logged, not raised.

    The partitions moved, or the broker is away: the next owner re-reads those inputs, or a
    later commit covers them; every effect downstream is idempotent.
    """
    mine = [TopicPartition(t, p, o) for (t, p), o in offsets.items() if (t, p) in owned]
    if not mine:
        return
    try:
        if asynchronous:
            consumer.commit(offsets=mine, asynchronous=True)
        else:
            consumer.commit(offsets=mine, asynchronous=False)
    except KafkaException as exc:
        log.warning("%s commit failed (%s); re-read or committed later", name, exc)


def commit_reporter(name: str) -> Callable[[KafkaError | None, list[TopicPartition]], None]:
    """Return an ``on_commit`` callback that logs the asynchronous commits that failed."""

    def on_commit(error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if error is not None:
            log.warning("%s commit of %d partitions failed: %s", name, len(partitions), error)

    return on_commit
