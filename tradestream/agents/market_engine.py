"""The market engine: a lean consume → process → produce loop beside the Faust agents.

Faust's consumer path (a task and a future per message, a consumer thread competing for the
GIL) cost more per frame than the order book itself, and aiokafka's fetch cycle cost more than
librdkafka's (``streams/rdkafka.py``), so the market hot path is a ``mode.Service`` of the worker
on librdkafka. It runs its loop in one of two places:

- ``threaded`` (a worker running the market role only): in a thread of its own, which waits in
  librdkafka's ``poll`` (GIL released) and wakes as a record arrives; at 10k msgs/s this took
  46% of a core where the loop on the event loop took 57%;
- otherwise on the event loop, between the worker's other agents, waiting in a thread only when
  nothing is prefetched: a second thread running Python beside busy sink agents fought them for
  the GIL and cut the throughput from 30,426 to 8,132 msgs/s.

Either way:

- its own consumer group (``Settings.market_group_id``) on both raw topics, with the range
  assignor so that partition p of ``md.orderbook.raw`` and of ``md.trades.raw`` go to one member
  (a symbol's book and trades meet in one process);
- after each step, even one that fetched nothing, a book status held back within its checkpoint
  interval is published once the interval has ended (``MarketBatches.flush_checkpoints``);
- each step takes at most ``market_batch_size`` of what librdkafka has prefetched (waiting up to
  ``market_batch_ms`` for a first record when there is none) and processes them synchronously
  (``MarketBatches``) under ``books_lock`` (the web views read the books from the event loop,
  and rebalance callbacks may run in the waiting thread); dead letters go to the DLQ (through
  the event loop) before their offsets can be committed;
- outputs are produced to librdkafka as they are made (it batches per partition by itself);
- input offsets are committed only after every output of their batch is acknowledged
  (``DeliveryLedger``), at most every ``market_commit_interval_ms`` and whenever the input is
  idle: at-least-once, and a duplicate is harmless downstream (ReplacingMergeTree; books ignore
  an old u);
- on a rebalance the revoked partitions are drained (outputs acknowledged, offsets committed)
  and the books of partitions that did not come back are dropped; a newly assigned partition
  starts with no books, so its first delta asks for a resync;
- every ``market_gc_freeze_ms`` the loop moves every object then alive out of the cyclic
  garbage collector's reach (``gc.freeze``): with 100 symbols' books and feature rings a full
  collection took 83 ms (every record in flight waits for it); after a freeze a full collection
  scans only what was allocated since. Frozen objects are still freed by reference counting;
  only garbage cycles among them would stay, and the books hold none;
- a ``HaltError`` (or any crash of the loop) leaves the batch uncommitted and crashes the
  service, which stops the worker.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mode
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from tradestream.agents.boundary import send_dead_letters
from tradestream.agents.market import MarketBatches, offsets_after
from tradestream.config.settings import Settings
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.streams.rdkafka import (
    DeliveryMark,
    Outputs,
    PartitionKey,
    commit_owned,
    commit_reporter,
    consumer_config,
)

log = logging.getLogger(__name__)

Offsets = dict[PartitionKey, int]
DRAIN_TIMEOUT_S = 30.0
"""Longest a rebalance or shutdown waits for the outputs to be acknowledged."""
DEAD_LETTER_TIMEOUT_S = 30.0
"""Longest the loop waits for the DLQ to take a batch's dead letters."""


class OffsetLedger:
    """Input offsets waiting until the outputs they caused are acknowledged."""

    def __init__(self) -> None:
        self._pending: deque[tuple[DeliveryMark, Offsets]] = deque()

    def add(self, mark: DeliveryMark, offsets: Offsets) -> None:
        """Hold ``offsets`` until every output counted in ``mark`` is acknowledged."""
        self._pending.append((mark, offsets))

    def ready(self, covered: Callable[[DeliveryMark], bool]) -> Offsets:
        """Take the offsets whose outputs are all acknowledged (latest per partition)."""
        ready: Offsets = {}
        while self._pending and covered(self._pending[0][0]):
            ready.update(self._pending.popleft()[1])
        return ready

    def __len__(self) -> int:
        return len(self._pending)


class MarketEngine(mode.Service):
    """Consume both raw topics in batches, keep the books, produce, commit after the acks."""

    def __init__(
        self,
        settings: Settings,
        *,
        consumer: Consumer,
        outputs: Outputs,
        batches: MarketBatches,
        dlq: DeadLetterQueue,
        books_lock: threading.Lock,
        topics: Iterable[str],
        threaded: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._consumer = consumer
        self._outputs = outputs
        self._batches = batches
        self._dlq = dlq
        self._lock = books_lock
        self._topics = list(topics)
        self._ledger = OffsetLedger()
        self._unsealed: Offsets = {}
        self._committed_at = 0.0
        self._frozen_at = 0.0
        self._revoked: set[int] = set()
        self._owned: set[PartitionKey] = set()
        self._rebalanced = False
        self._failed = False
        self._threaded = threaded
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="market-engine")

    async def on_start(self) -> None:
        """Join the consumer group (librdkafka assigns partitions inside a later poll)."""
        self._loop = asyncio.get_running_loop()
        self._consumer.subscribe(self._topics, on_assign=self.on_assign, on_revoke=self.on_revoke)

    @mode.Service.task
    async def _run(self) -> None:
        try:
            if self._threaded:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._waiter, self.run_in_thread)
            else:
                while not self.should_stop:
                    await self.step()
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._failed = True  # shutting down must not drain (and commit) after a failure
            log.exception("market engine stopped")
            raise  # mode crashes the service, which stops the worker

    async def on_stop(self) -> None:
        """Ask the loop to stop (in a thread it ends within ``market_batch_ms``)."""
        self._stopping.set()

    async def on_shutdown(self) -> None:
        """After the loop ended: drain and commit (unless it failed), then close the clients."""
        await asyncio.to_thread(self._waiter.shutdown)  # the thread's loop or wait ends first
        try:
            if not self._failed:
                await asyncio.to_thread(self.drain)
        finally:
            await asyncio.to_thread(self._consumer.close)
            left = await asyncio.to_thread(self._outputs.close, 5)
            if left:
                log.warning("market engine closed with %d outputs unacknowledged", left)

    # ---- on the event loop (when the worker runs other agents too) ---------------------------

    async def step(self) -> None:
        """Fetch and handle one batch, serve deliveries, commit what is acknowledged."""
        messages = await self.fetch()
        if messages:
            letters = self.process(messages)
            if letters:
                await send_dead_letters(self._dlq, letters)
            self._unsealed.update(offsets_after(messages))
        self.settle(idle=not messages)

    async def fetch(self) -> list[Message]:
        """Take what is already fetched; if nothing is, wait for it in the waiting thread."""
        self._rebalanced = False
        got = self._consumer.consume(self._settings.market_batch_size, 0)
        if got:
            await asyncio.sleep(0)  # a busy input must not starve the worker's other agents
        else:
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(self._waiter, self._wait_and_take)
        return self._records(got)

    # ---- in a thread of its own (when the worker runs the market role only) ------------------

    def run_in_thread(self) -> None:
        """Step until asked to stop."""
        while not self._stopping.is_set():
            self.step_in_thread()

    def step_in_thread(self) -> None:
        """Fetch and handle one batch; dead letters go to the DLQ through the event loop."""
        self._rebalanced = False
        messages = self._records(self._wait_and_take())
        if messages:
            letters = self.process(messages)
            if letters:
                if self._loop is None:
                    raise RuntimeError("the market engine was not started on an event loop")
                coro = send_dead_letters(self._dlq, letters)
                asyncio.run_coroutine_threadsafe(coro, self._loop).result(DEAD_LETTER_TIMEOUT_S)
            self._unsealed.update(offsets_after(messages))
        self.settle(idle=not messages)

    # ---- either way --------------------------------------------------------------------------

    def _wait_and_take(self) -> list[Message]:
        # Wait up to market_batch_ms for a record, then take what is already fetched:
        # consume(n, t) alone would wait t for n records to arrive.
        first = self._consumer.poll(self._settings.market_batch_ms / 1000)
        if first is None:
            return []
        return [first, *self._consumer.consume(self._settings.market_batch_size - 1, 0)]

    def _records(self, got: list[Message]) -> list[Message]:
        fetched = [m for m in got if self._is_record(m)]
        if self._rebalanced:  # records fetched before a rebalance inside the same call
            fetched = [m for m in fetched if (m.topic(), m.partition()) in self._owned]
        return fetched

    def process(self, messages: list[Message]) -> list[DeadLetter]:
        """Apply a batch under the books lock (the web views read them); return dead letters."""
        with self._lock:
            return self._batches.process(messages)

    def settle(self, *, idle: bool) -> None:
        """Publish due checkpoints, serve deliveries, commit what is acknowledged, freeze."""
        if self._batches.checkpoint_due():
            with self._lock:
                self._batches.flush_checkpoints()
        self._outputs.poll()
        self.commit_acked(idle=idle)
        self.freeze_survivors()

    def freeze_survivors(self) -> None:
        """Every ``market_gc_freeze_ms``, take the objects alive now out of full collections."""
        every_s = self._settings.market_gc_freeze_ms / 1000
        now = time.monotonic()
        if every_s and now - self._frozen_at >= every_s:
            self._frozen_at = now
            gc.freeze()

    @staticmethod
    def _is_record(message: Message) -> bool:
        error: KafkaError | None = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        log.warning("market engine consumer: %s", error)
        return False

    def commit_acked(self, *, idle: bool = False) -> None:
        """Commit the offsets whose outputs are acknowledged (every interval, or when idle).

        The inputs handled since the last call are sealed with a mark of the outputs produced
        so far; they are committed by a later call once that mark is acknowledged.
        """
        now = time.monotonic()
        if not idle and now - self._committed_at < self._settings.market_commit_interval_ms / 1e3:
            return
        self._committed_at = now
        self._seal()
        offsets = self._ledger.ready(self._outputs.ledger.covers)
        if offsets:
            self._commit(offsets, asynchronous=True)

    def _seal(self) -> None:
        if self._unsealed:
            self._ledger.add(self._outputs.ledger.mark(), self._unsealed)
            self._unsealed = {}

    def drain(self) -> None:
        """Wait until every output is acknowledged and commit every input handled."""
        self._seal()
        self._outputs.wait_delivered(self._outputs.ledger.mark(), DRAIN_TIMEOUT_S)
        offsets = self._ledger.ready(self._outputs.ledger.covers)
        if offsets:
            self._commit(offsets, asynchronous=False)

    def on_revoke(self, _consumer: Consumer, revoked: list[TopicPartition]) -> None:
        """Drain and commit before the partitions move on (called inside ``poll``/``consume``).

        On the event loop this blocks it until the outputs in flight are acknowledged (a few
        ms); a rebalance is rare and must not let another member re-read uncommitted inputs.
        """
        if not self._failed:
            self.drain()
        self._revoked = {tp.partition for tp in revoked}
        self._owned = set()
        self._rebalanced = True

    def on_assign(self, _consumer: Consumer, assigned: list[TopicPartition]) -> None:
        """Drop the books of partitions that did not come back; new ones start empty."""
        with self._lock:
            self._batches.forget(self._revoked - {tp.partition for tp in assigned})
        self._revoked = set()
        self._owned = {(tp.topic, tp.partition) for tp in assigned}
        self._rebalanced = True
        log.info("market engine assigned %d partitions", len(assigned))

    def _commit(self, offsets: Offsets, *, asynchronous: bool) -> None:
        owned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        name = "market engine"
        commit_owned(self._consumer, offsets, owned, asynchronous=asynchronous, name=name)


def market_consumer(settings: Settings) -> Consumer:
    """Create the engine's consumer (it joins its group on ``subscribe``)."""
    return Consumer(
        consumer_config(
            settings, settings.market_group_id, on_commit=commit_reporter("market engine")
        )
    )
