"""The market engine: a lean consume → process → produce loop beside the Faust agents.

Faust's consumer path (a task and a future per message, a consumer thread competing for the
GIL) cost more per frame than the order book itself, and aiokafka's fetch cycle cost more than
librdkafka's (``streams/rdkafka.py``), so the market hot path runs on librdkafka in a thread of
its own, started and stopped as a ``mode.Service`` of the worker:

- its own consumer group (``Settings.market_group_id``) on both raw topics, with the range
  assignor so that partition p of ``md.orderbook.raw`` and of ``md.trades.raw`` go to one member
  (a symbol's book and trades meet in one process);
- each step waits up to ``market_batch_ms`` for a first record, takes at most
  ``market_batch_size`` of what is already prefetched, and processes them synchronously
  (``MarketBatches``) under ``books_lock`` (the web views read the books from the event loop);
  dead letters go to the DLQ through the event loop before their offsets can be committed;
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
from typing import Any

import mode
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from tradestream.agents.boundary import send_dead_letters
from tradestream.agents.market import MarketBatches, offsets_after
from tradestream.config.settings import Settings
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.streams.rdkafka import DeliveryMark, Outputs, PartitionKey, consumer_config

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
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: asyncio.Future[None] | None = None

    async def on_started(self) -> None:
        """Start the loop's thread; a crash of it crashes the service."""
        self._loop = asyncio.get_running_loop()
        self._thread = asyncio.ensure_future(asyncio.to_thread(self.run))
        self.add_future(self._watch())

    async def _watch(self) -> None:
        assert self._thread is not None  # noqa: S101 - set in on_started
        try:
            await asyncio.shield(self._thread)
        except Exception as exc:
            log.exception("market engine stopped")
            await self.crash(exc)

    async def on_stop(self) -> None:
        """Ask the loop to stop; it drains, commits and closes the clients itself."""
        self._stopping.set()
        if self._thread is not None:
            await asyncio.wait({self._thread}, timeout=DRAIN_TIMEOUT_S + 5)

    # ---- the loop (engine thread) ------------------------------------------------------------

    def run(self) -> None:
        """Subscribe, step until asked to stop, then drain, commit and close."""
        self._consumer.subscribe(self._topics, on_assign=self.on_assign, on_revoke=self.on_revoke)
        try:
            while not self._stopping.is_set():
                self.step()
            self.drain()
        except BaseException:
            self._failed = True  # closing must not drain (and commit) after a failure
            raise
        finally:
            self._consumer.close()
            left = self._outputs.close(timeout_s=5)
            if left:
                log.warning("market engine closed with %d outputs unacknowledged", left)

    def step(self) -> None:
        """Fetch and handle one batch, serve deliveries, commit what is acknowledged."""
        messages = self.fetch()
        if messages:
            self.handle(messages)
        self._outputs.poll()
        self.commit_acked(idle=not messages)
        self.freeze_survivors()

    def freeze_survivors(self) -> None:
        """Every ``market_gc_freeze_ms``, take the objects alive now out of full collections."""
        every_s = self._settings.market_gc_freeze_ms / 1000
        now = time.monotonic()
        if every_s and now - self._frozen_at >= every_s:
            self._frozen_at = now
            gc.freeze()

    def fetch(self) -> list[Message]:
        """Wait up to ``market_batch_ms`` for a record, then take what is already fetched.

        ``consume(n, t)`` alone would wait the whole ``t`` for ``n`` records to arrive.
        """
        self._rebalanced = False
        first = self._consumer.poll(self._settings.market_batch_ms / 1000)
        if first is None:
            return []
        more = self._consumer.consume(self._settings.market_batch_size - 1, 0)
        fetched = [m for m in (first, *more) if self._is_record(m)]
        if self._rebalanced:  # records fetched before a rebalance inside ``consume``
            fetched = [m for m in fetched if (m.topic(), m.partition()) in self._owned]
        return fetched

    @staticmethod
    def _is_record(message: Message) -> bool:
        error: KafkaError | None = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        log.warning("market engine consumer: %s", error)
        return False

    def handle(self, messages: list[Message]) -> None:
        """Process one batch under the books lock, dead-letter its failures, hold its offsets."""
        with self._lock:
            letters = self._batches.process(messages)
        if letters:
            self.send_dead_letters(letters)
        self._unsealed.update(offsets_after(messages))

    def send_dead_letters(self, letters: list[DeadLetter]) -> None:
        """Hand dead letters to the DLQ on the event loop and wait until it has them."""
        if self._loop is None:
            raise RuntimeError("the market engine has no event loop to reach the DLQ through")
        sent = asyncio.run_coroutine_threadsafe(send_dead_letters(self._dlq, letters), self._loop)
        sent.result(timeout=DEAD_LETTER_TIMEOUT_S)

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
        """Drain and commit before the partitions move on (called inside ``poll``)."""
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
        mine = [TopicPartition(t, p, o) for (t, p), o in offsets.items() if (t, p) in owned]
        if not mine:
            return
        try:
            if asynchronous:
                self._consumer.commit(offsets=mine, asynchronous=True)
            else:
                self._consumer.commit(offsets=mine, asynchronous=False)
        except KafkaException as exc:
            # the partitions moved, or the broker is away: the next owner or commit re-covers it
            log.warning("market engine commit failed (%s); re-read or committed later", exc)


def market_consumer(settings: Settings) -> Consumer:
    """Create the engine's consumer (it joins its group on ``subscribe``)."""
    return Consumer(consumer_config(settings, settings.market_group_id, on_commit=_on_commit))


def _on_commit(error: KafkaError | None, partitions: list[TopicPartition]) -> None:
    if error is not None:
        log.warning("market engine commit of %d partitions failed: %s", len(partitions), error)
