"""The market engine: a lean consume → process → produce loop beside the Faust agents.

Faust's consumer path (a task and a future per message, a consumer thread competing for the GIL)
cost more per frame than the order book itself, so the market hot path runs as a ``mode.Service``
in the worker with its own ``AIOKafkaConsumer``:

- its own consumer group (``Settings.market_group_id``) on both raw topics, with the range
  assignor so that partition p of ``md.orderbook.raw`` and of ``md.trades.raw`` go to one member
  (a symbol's book and trades meet in one process);
- ``getmany`` returns whatever is fetched (at most ``market_batch_size``; it waits up to
  ``market_batch_ms`` only when nothing has arrived); the batch is processed synchronously
  (``MarketBatches``), its dead letters are sent, and its outputs go out (after each fetch, or
  every ``market_linger_ms`` if set) as one record batch per partition (``PartitionBatcher``)
  from a background sender, so that the next batch is processed
  while aiokafka waits for a partition's previous batch to be acknowledged;
- input offsets are committed only after the outputs of their batch are acknowledged
  (``OffsetLedger``), at most every ``market_commit_interval_ms`` and whenever the input is idle:
  at-least-once, and a duplicate is harmless downstream (ReplacingMergeTree; books ignore an old u);
- on a rebalance the revoked partitions are drained (outputs flushed and acknowledged, offsets
  committed) and the books of partitions that did not come back are dropped; a newly assigned
  partition starts with no books, so its first delta asks for a resync.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from tradestream.agents.boundary import send_dead_letters
from tradestream.agents.market import MarketBatches, offsets_after
from tradestream.config.settings import Settings
from tradestream.sinks.dead_letters import DeadLetterQueue
from tradestream.streams.record_batches import PartitionBatcher

log = logging.getLogger(__name__)

Offsets = dict[TopicPartition, int]
MAX_UNACKED_RECORDS = 50_000
"""Output records the engine may have built and not yet seen acknowledged before it waits."""


class OffsetLedger:
    """Input offsets waiting until the outputs they caused are acknowledged."""

    def __init__(self) -> None:
        self._pending: deque[tuple[int, Offsets]] = deque()

    def add(self, mark: int, offsets: Offsets) -> None:
        """Hold ``offsets`` until every batch submitted before ``mark`` is acknowledged."""
        self._pending.append((mark, offsets))

    def ready(self, acked_through: int) -> Offsets:
        """Take the offsets whose outputs are all acknowledged (latest per partition)."""
        ready: Offsets = {}
        while self._pending and self._pending[0][0] <= acked_through:
            ready.update(self._pending.popleft()[1])
        return ready

    def __len__(self) -> int:
        return len(self._pending)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, engine: MarketEngine) -> None:
        self._engine = engine

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._engine.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._engine.on_assigned(assigned)


class MarketEngine(mode.Service):
    """Consume both raw topics in batches, keep the books, produce, commit after the acks."""

    def __init__(
        self,
        settings: Settings,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batcher: PartitionBatcher,
        batches: MarketBatches,
        dlq: DeadLetterQueue,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._consumer = consumer
        self._producer = producer
        self._batcher = batcher
        self._batches = batches
        self._dlq = dlq
        self._ledger = OffsetLedger()
        self._unsealed: Offsets = {}
        self._sealed_at = 0.0
        self._linger_s = settings.market_linger_ms / 1000
        self._progress = asyncio.Event()
        self._committed_at = 0.0
        self._revoked: set[int] = set()
        self._sender: asyncio.Future[None] | None = None
        self._send_again = False
        self.rebalance_listener = _Rebalance(self)

    def wake(self, *_: Any) -> None:
        """Note that a delivery finished (acknowledged or failed): waiters look again."""
        self._progress.set()
        if self._batcher.has_failed:
            self._send()

    @mode.Service.task
    async def _run(self) -> None:
        while not self.should_stop:
            await self.step()

    async def step(self) -> None:
        """Fetch and handle one batch, re-send failed outputs, commit what is acknowledged."""
        fetched = await self._consumer.getmany(
            timeout_ms=self._settings.market_batch_ms,
            max_records=self._settings.market_batch_size,
        )
        if self._sender is not None and self._sender.done():
            failure = self._sender.exception()  # e.g. a HaltError while re-building a batch
            if failure is not None:
                raise failure
        if fetched:
            await self.handle(fetched)
        if not fetched or time.monotonic() - self._sealed_at >= self._linger_s:
            self._release()
            await self._await_room()
        await self.commit_acked(idle=not fetched)

    async def handle(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        """Process one fetched batch, send its dead letters, hand its outputs to the sender."""
        letters = []
        for records in fetched.values():
            letters.extend(self._batches.process(records))
        await send_dead_letters(self._dlq, letters)
        self._unsealed.update(offsets_after(fetched))

    async def _await_room(self) -> None:
        # Back-pressure: do not run further ahead of the broker's acknowledgements than this.
        while self._batcher.unacked_records > MAX_UNACKED_RECORDS:
            self._progress.clear()
            await self._progress.wait()

    def _release(self) -> None:
        # Close the output batches built since the last release and hand them to the sender;
        # the inputs that caused them become committable once they are acknowledged.
        self._sealed_at = time.monotonic()
        if not self._unsealed:
            return
        self._ledger.add(self._batcher.seal(), self._unsealed)
        self._unsealed = {}
        self._send()

    def _send(self) -> None:
        # Outputs are sent by one background task so that processing goes on while aiokafka
        # waits for a partition's previous batch to be acknowledged before it takes the next.
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_all())
        else:
            self._send_again = True

    async def _send_all(self) -> None:
        self._send_again = True
        while self._send_again:
            self._send_again = False
            await self._flush()

    async def commit_acked(self, *, idle: bool = False) -> None:
        """Commit the offsets whose outputs are acknowledged (every interval, or when idle)."""
        now = time.monotonic()
        if not idle and now - self._committed_at < self._settings.market_commit_interval_ms / 1e3:
            return
        offsets = self._ledger.ready(self._batcher.acked_through())
        if offsets:
            self._committed_at = now
            await self._commit(offsets)

    async def drain(self) -> None:
        """Flush every output, wait until all are acknowledged, and commit every input."""
        self._release()
        mark = self._batcher.seal()
        self._send()
        while self._batcher.acked_through() < mark:
            self._progress.clear()
            await self._progress.wait()
        offsets = self._ledger.ready(mark)
        if offsets:
            await self._commit(offsets)

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Drain and commit before the partitions move on."""
        await self.drain()
        self._revoked = {tp.partition for tp in revoked}

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Drop the books of partitions that did not come back; new ones start empty."""
        self._batches.forget(self._revoked - {tp.partition for tp in assigned})
        self._revoked = set()
        log.info("market engine assigned %d partitions", len(assigned))

    async def _flush(self) -> None:
        while True:
            if await self._batcher.flush():
                return
            await asyncio.sleep(0.05)  # the producer's buffer is full: let it drain

    async def _commit(self, offsets: Offsets) -> None:
        owned = self._consumer.assignment()
        mine = {tp: offset for tp, offset in offsets.items() if tp in owned}
        if not mine:
            return
        try:
            await self._consumer.commit(mine)
        except (CommitFailedError, IllegalStateError) as exc:
            # the partitions moved during the commit: their new owner re-processes (at least once)
            log.warning("market engine commit refused (%s); the next owner re-reads", exc)
        except KafkaError as exc:
            log.warning("market engine commit failed (%s); committing later", exc)

    async def on_shutdown(self) -> None:
        """Drain and commit after the loop stopped, then close the consumer and producer."""
        try:
            await asyncio.wait_for(self.drain(), timeout=10)
        finally:
            if self._sender is not None:
                self._sender.cancel()
            await self._consumer.stop()
            await self._producer.stop()


def market_consumer(settings: Settings) -> AIOKafkaConsumer:
    """Create (not start) the engine's consumer: own group, range assignor, manual commits."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.market_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),
        max_partition_fetch_bytes=settings.market_partition_fetch_bytes,
        fetch_max_bytes=settings.market_fetch_max_bytes,
        fetch_min_bytes=settings.market_fetch_min_bytes,
        fetch_max_wait_ms=settings.market_fetch_max_wait_ms,
    )
