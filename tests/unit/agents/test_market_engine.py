"""The market engine: error boundary, commit after the acks, delivery failures, rebalances."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from tests.support.rdkafka_fakes import Commit, FakeConsumer, FakeMessage, FakeProducer
from tests.support.waiting import eventually
from tradestream.agents.market import MarketBatches, offsets_after
from tradestream.agents.market_engine import MarketEngine, OffsetLedger
from tradestream.config.settings import Settings
from tradestream.core.errors import HaltError
from tradestream.core.market import MarketBooks
from tradestream.sinks.dead_letters import DeadLetter, MemoryDeadLetterQueue
from tradestream.streams.partitioning import partition_for_key
from tradestream.streams.rdkafka import FULL_QUEUE_WAIT_S, DeliveryLedger, Outputs

SETTINGS = Settings(namespace="", partitions=4, market_commit_interval_ms=1)
BOOKS_RAW = "md.orderbook.raw"
TRADES_RAW = "md.trades.raw"
BOOK_TOP = "md.book.top"


def symbol_on(partition: int) -> str:
    """Return a symbol whose raw records go to ``partition`` (of 4)."""
    return next(
        s
        for s in ("ABC", "XYZ", "QRS", "LMN", "DEF", "GHI", "JKL", "TUV")
        if partition_for_key(s.encode(), range(4)) == partition
    )


def book_frame(symbol: str, kind: str, u: int) -> bytes:
    data = {"s": symbol, "b": [["1.0", "1"]], "a": [["1.1", str(u)]], "u": u, "seq": u}
    frame = {"topic": f"orderbook.50.{symbol}", "type": kind, "ts": 1000 + u, "cts": 999 + u}
    return orjson.dumps({**frame, "data": data})


def messages(*values: bytes, first: int = 0, partition: int = 0) -> list[FakeMessage]:
    offsets = itertools.count(first)
    return [FakeMessage(BOOKS_RAW, partition, next(offsets), v) for v in values]


def owned(*partitions: int) -> list[TopicPartition]:
    return [TopicPartition(t, p) for p in partitions for t in (BOOKS_RAW, TRADES_RAW)]


@dataclass
class Rig:
    engine: MarketEngine
    consumer: FakeConsumer
    producer: FakeProducer
    ledger: DeliveryLedger
    dlq: Any
    books: MarketBooks

    async def fetch(self) -> list[Any]:
        return await self.engine.fetch()

    def revoke(self, partitions: list[TopicPartition]) -> None:
        self.engine.on_revoke(self.consumer, partitions)  # type: ignore[arg-type]

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.engine.on_assign(self.consumer, partitions)  # type: ignore[arg-type]


def make_rig(settings: Settings = SETTINGS, dlq: Any = None, *, threaded: bool = False) -> Rig:
    ledger = DeliveryLedger()
    producer = FakeProducer(on_delivery=ledger.on_delivery)
    outputs = Outputs(producer, ledger)  # type: ignore[arg-type]
    consumer = FakeConsumer(owned=owned(0, 1, 2, 3))
    dlq = MemoryDeadLetterQueue() if dlq is None else dlq
    books = MarketBooks(clock=lambda: 5)
    batches = MarketBatches(books, outputs, settings, lambda: 5, lambda: 5_000)
    engine = MarketEngine(
        settings,
        consumer=consumer,  # type: ignore[arg-type]
        outputs=outputs,
        batches=batches,
        dlq=dlq,
        books_lock=threading.Lock(),
        topics=[BOOKS_RAW, TRADES_RAW],
        threaded=threaded,
    )
    return Rig(engine, consumer, producer, ledger, dlq, books)


@pytest.fixture
def rig() -> Rig:
    return make_rig()


async def step(engine: MarketEngine) -> None:
    """Run one step of the engine's loop."""
    await engine.step()


# ---- the error boundary ------------------------------------------------------------------------


async def test_a_bad_frame_is_dead_lettered_and_the_rest_of_the_batch_goes_on(rig: Rig) -> None:
    rig.consumer.queue(
        *messages(book_frame("ABC", "snapshot", 1), b"{not json", book_frame("ABC", "delta", 2))
    )
    await step(rig.engine)
    assert [letter.raw for letter in rig.dlq.letters] == [b"{not json"]
    assert rig.dlq.letters[0].source == BOOKS_RAW
    assert rig.dlq.letters[0].reason
    book = rig.books.book("ABC")
    assert book is not None
    assert book.last_u == 2
    tops = [r for r in rig.producer.records if r.topic == BOOK_TOP]
    assert len(tops) == 2
    assert {r.partition for r in tops} == {partition_for_key(b"ABC", range(4))}
    assert {r.key for r in tops} == {b"ABC"}
    assert dict(tops[0].headers) == {"produced_ts_us": b"5000", "recv_ts_us": b"1000000"}
    assert tops[0].timestamp == 5
    assert rig.ledger.produced[(BOOK_TOP, tops[0].partition)] == 2


async def test_dead_letters_reach_the_dlq_before_the_commit() -> None:
    loop = asyncio.get_running_loop()
    seen: list[tuple[asyncio.AbstractEventLoop, int, int]] = []

    @dataclass
    class LoopDeadLetterQueue:
        consumer: FakeConsumer | None = None
        letters: list[DeadLetter] = field(default_factory=list)

        async def send(self, letter: DeadLetter) -> None:
            assert self.consumer is not None
            commits = len(self.consumer.commits)
            seen.append((asyncio.get_running_loop(), threading.get_ident(), commits))
            self.letters.append(letter)

    dlq = LoopDeadLetterQueue()
    rig = make_rig(dlq=dlq)
    dlq.consumer = rig.consumer
    rig.consumer.queue(*messages(b"{not json"))
    await step(rig.engine)  # no outputs to wait for: committed in the same step
    assert seen == [(loop, threading.get_ident(), 0)]
    assert rig.consumer.commits == [Commit({(BOOKS_RAW, 0): 1}, asynchronous=True)]


async def test_a_failing_dead_letter_queue_leaves_the_batch_uncommitted() -> None:
    class BrokenDeadLetterQueue:
        async def send(self, letter: DeadLetter) -> None:
            raise ConnectionError("redis gone")

    rig = make_rig(dlq=BrokenDeadLetterQueue())
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1), b"{not json"))
    with pytest.raises(ConnectionError):
        await step(rig.engine)
    rig.producer.deliver()
    await step(rig.engine)
    assert rig.consumer.commits == []


async def test_a_halt_stops_the_batch_uncommitted(rig: Rig, monkeypatch: Any) -> None:
    apply = rig.books.apply

    def halt_on_second(raw: bytes, recv_ts_ms: int) -> Any:
        if orjson.loads(raw)["data"]["u"] == 2:
            raise HaltError("broken invariant")
        return apply(raw, recv_ts_ms)

    monkeypatch.setattr(rig.books, "apply", halt_on_second)
    rig.consumer.queue(
        *messages(
            book_frame("ABC", "snapshot", 1),
            book_frame("ABC", "delta", 2),
            book_frame("ABC", "delta", 3),
        )
    )
    with pytest.raises(HaltError, match="broken invariant"):
        await step(rig.engine)
    assert rig.producer.records  # the first frame's outputs were produced
    assert rig.books.book("ABC").last_u == 1  # type: ignore[union-attr]
    rig.producer.deliver()
    await step(rig.engine)  # idle: commits whatever is acknowledged
    assert rig.consumer.commits == []
    assert len(rig.engine._ledger) == 0
    assert rig.dlq.letters == []


# ---- commits after the acknowledgements --------------------------------------------------------


async def test_offsets_are_committed_only_after_their_outputs_are_acknowledged(rig: Rig) -> None:
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1), book_frame("ABC", "delta", 2)))
    await step(rig.engine)
    first_batch = len(rig.producer.records)
    assert first_batch >= 2
    rig.consumer.queue(*messages(book_frame("ABC", "delta", 3), first=2))
    await step(rig.engine)
    await step(rig.engine)  # idle: nothing acknowledged yet, so nothing to commit
    assert rig.consumer.commits == []

    rig.producer.deliver(first_batch - 1)  # all but one output of the first batch
    await step(rig.engine)
    assert rig.consumer.commits == []

    rig.producer.deliver(1)  # the first batch is all acknowledged; the second is not
    assert rig.consumer.commits == []  # only a step commits
    await step(rig.engine)
    assert rig.consumer.commits == [Commit({(BOOKS_RAW, 0): 2}, asynchronous=True)]

    rig.producer.deliver()
    await step(rig.engine)
    assert rig.consumer.commits[1:] == [Commit({(BOOKS_RAW, 0): 3}, asynchronous=True)]
    assert len(rig.engine._ledger) == 0


async def test_only_owned_partitions_are_committed(rig: Rig) -> None:
    rig.consumer.queue(
        *messages(book_frame(symbol_on(0), "snapshot", 1), partition=0),
        *messages(book_frame(symbol_on(1), "snapshot", 1), first=7, partition=1),
    )
    rig.consumer.owned = owned(1)
    rig.producer.auto_deliver = True
    await step(rig.engine)
    await step(rig.engine)
    assert rig.consumer.commits == [Commit({(BOOKS_RAW, 1): 8}, asynchronous=True)]


async def test_a_failed_delivery_halts_and_leaves_the_offsets_uncommitted(rig: Rig) -> None:
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1)))
    await step(rig.engine)
    rig.consumer.queue(*messages(book_frame("ABC", "delta", 2), first=1))
    await step(rig.engine)
    # the first output fails, every later one (same partitions) is acknowledged: the counts
    # alone would cover the first batch, so only the halt keeps its offsets uncommitted
    rig.producer.deliver(1, error=KafkaError(KafkaError._MSG_TIMED_OUT))
    rig.producer.deliver()
    with pytest.raises(HaltError, match="output delivery failed"):
        await step(rig.engine)
    with pytest.raises(HaltError):
        rig.engine._outputs.poll()
    assert rig.consumer.commits == []


# ---- rebalances --------------------------------------------------------------------------------


async def test_revoked_partitions_are_drained_committed_and_their_books_dropped(
    rig: Rig,
) -> None:
    gone, back = symbol_on(0), symbol_on(1)
    rig.consumer.queue(
        *messages(book_frame(gone, "snapshot", 1), partition=0),
        *messages(book_frame(back, "snapshot", 1), first=4, partition=1),
    )
    await step(rig.engine)
    polled_while_draining: list[float] = []

    def acknowledge_later(producer: FakeProducer, timeout: float) -> None:
        polled_while_draining.append(timeout)
        if len(polled_while_draining) == 3:  # the broker answers after a while
            producer.deliver()

    rig.producer.on_poll = acknowledge_later
    assert rig.consumer.commits == []
    rig.revoke(owned(0, 1))
    assert len(polled_while_draining) == 3  # it waited for the acknowledgements
    assert len(rig.producer) == 0
    assert rig.consumer.commits == [
        Commit({(BOOKS_RAW, 0): 1, (BOOKS_RAW, 1): 5}, asynchronous=False)
    ]
    assert rig.books.book(gone) is not None  # kept until the new assignment is known
    rig.assign(owned(1))
    assert rig.books.book(gone) is None
    assert rig.books.book(back) is not None


async def test_partitions_that_come_back_keep_their_books(rig: Rig) -> None:
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1)))
    await step(rig.engine)
    rig.producer.auto_deliver = True
    rig.revoke(owned(0, 1, 2, 3))
    rig.assign(owned(0, 1, 2, 3))
    assert rig.books.book("ABC") is not None
    rig.revoke([])
    rig.assign(owned(0, 1, 2, 3))
    assert rig.books.book("ABC") is not None


async def test_a_drain_that_is_not_acknowledged_in_time_halts_uncommitted(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tradestream.agents.market_engine.DRAIN_TIMEOUT_S", 0.0)
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1)))
    await step(rig.engine)
    with pytest.raises(HaltError, match="not acknowledged"):
        rig.revoke(owned(0))
    assert rig.consumer.commits == []


# ---- fetching ----------------------------------------------------------------------------------


async def test_fetch_waits_for_a_record_only_when_none_is_prefetched(rig: Rig) -> None:
    assert await rig.fetch() == []
    assert rig.consumer.consumes == [(SETTINGS.market_batch_size, 0)]
    assert rig.consumer.polls == [SETTINGS.market_batch_ms / 1000]
    arriving = messages(*(book_frame("ABC", "delta", u) for u in range(1, 4)))
    rig.consumer.on_poll = lambda: rig.consumer.queue(*arriving)  # they arrive during the wait
    assert await rig.fetch() == arriving
    size = SETTINGS.market_batch_size
    assert rig.consumer.consumes[1:] == [(size, 0), (size - 1, 0)]


async def test_fetch_takes_at_most_a_batch_of_what_is_prefetched_without_waiting() -> None:
    rig = make_rig(SETTINGS.model_copy(update={"market_batch_size": 3}))
    queued = messages(*(book_frame("ABC", "delta", u) for u in range(1, 6)))
    rig.consumer.queue(*queued)
    assert await rig.fetch() == queued[:3]
    assert await rig.fetch() == queued[3:]
    assert rig.consumer.consumes == [(3, 0), (3, 0)]
    assert rig.consumer.polls == []


async def test_a_rebalance_inside_the_fetch_drops_the_records_of_partitions_now_elsewhere(
    rig: Rig,
) -> None:
    kept = messages(book_frame("ABC", "snapshot", 1), partition=0)
    lost = messages(book_frame("XYZ", "snapshot", 1), partition=1)
    rig.consumer.queue(*lost, *kept)

    def rebalance() -> None:
        rig.revoke(owned(0, 1))
        rig.assign(owned(0))

    rig.consumer.on_consume = rebalance
    assert await rig.fetch() == kept


async def test_fetch_skips_records_with_an_error(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    good = messages(book_frame("ABC", "snapshot", 1), book_frame("ABC", "delta", 2))
    eof = FakeMessage(BOOKS_RAW, 0, 2, b"", error=KafkaError(KafkaError._PARTITION_EOF))
    rig.consumer.queue(eof, good[0], eof, good[1])
    with caplog.at_level(logging.WARNING, logger="tradestream.agents.market_engine"):
        assert await rig.fetch() == good
    assert sum("market engine consumer" in r.getMessage() for r in caplog.records) == 2


async def test_fetch_raises_on_a_fatal_error(rig: Rig) -> None:
    fatal = KafkaError(KafkaError._FATAL, "fenced", fatal=True)
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1)))
    rig.consumer.queue(FakeMessage(BOOKS_RAW, 0, 1, b"", error=fatal))
    with pytest.raises(KafkaException):
        await rig.fetch()


# ---- the ledgers and outputs -------------------------------------------------------------------


def test_the_offset_ledger_releases_offsets_in_order_of_acknowledgement() -> None:
    ledger = OffsetLedger()
    a, b = (BOOK_TOP, 0), (BOOK_TOP, 1)
    ledger.add({a: 1}, {(BOOKS_RAW, 0): 10})
    ledger.add({b: 2}, {(BOOKS_RAW, 0): 20, (BOOKS_RAW, 1): 5})
    ledger.add({a: 3}, {(BOOKS_RAW, 0): 30})
    delivered: dict[tuple[str, int], int] = {}

    def covered(mark: dict[tuple[str, int], int]) -> bool:
        return all(delivered.get(k, 0) >= n for k, n in mark.items())

    assert ledger.ready(covered) == {}
    delivered[b] = 2  # the second is acknowledged but not released before the first
    assert ledger.ready(covered) == {}
    assert len(ledger) == 3
    delivered[a] = 1
    assert ledger.ready(covered) == {(BOOKS_RAW, 0): 20, (BOOKS_RAW, 1): 5}
    assert len(ledger) == 1
    delivered[a] = 3
    assert ledger.ready(covered) == {(BOOKS_RAW, 0): 30}
    assert len(ledger) == 0


def test_the_delivery_ledger_counts_per_partition_and_keeps_the_first_failure() -> None:
    ledger = DeliveryLedger()
    acknowledge: Callable[[KafkaError | None, Any], None] = ledger.on_delivery
    ledger.produced = {(BOOK_TOP, 0): 2, (BOOK_TOP, 1): 1}
    mark = ledger.mark()
    ledger.produced[(BOOK_TOP, 0)] = 3
    assert mark == {(BOOK_TOP, 0): 2, (BOOK_TOP, 1): 1}  # a copy
    acknowledge(None, FakeMessage(BOOK_TOP, 0, 0, b""))
    acknowledge(None, FakeMessage(BOOK_TOP, 0, 1, b""))
    assert ledger.delivered == {(BOOK_TOP, 0): 2}
    assert not ledger.covers(mark)  # partition 1 is not there yet
    acknowledge(None, FakeMessage("md.features", 1, 0, b""))
    assert not ledger.covers(mark)  # another topic's partition 1 does not count
    acknowledge(None, FakeMessage(BOOK_TOP, 1, 0, b""))
    assert ledger.covers(mark)
    assert not ledger.covers(ledger.mark())
    assert ledger.covers({})
    ledger.raise_failure()  # no failure yet

    first = KafkaError(KafkaError._MSG_TIMED_OUT, "first")
    acknowledge(first, FakeMessage(BOOK_TOP, 0, 2, b""))
    acknowledge(KafkaError(KafkaError._TRANSPORT, "second"), FakeMessage(BOOK_TOP, 1, 1, b""))
    assert ledger.failure is first
    assert ledger.delivered[(BOOK_TOP, 0)] == 2  # a failure is not an acknowledgement
    with pytest.raises(HaltError, match="first"):
        ledger.raise_failure()


def test_a_full_send_queue_is_served_before_trying_again() -> None:
    ledger = DeliveryLedger()
    producer = FakeProducer(on_delivery=ledger.on_delivery)
    outputs = Outputs(producer, ledger)  # type: ignore[arg-type]
    outputs.slot(BOOK_TOP, 0).append(b"ABC", b"old", [], 1)  # accepted at once
    producer.refuse_next = 2
    delivered_on_poll: list[int] = []
    producer.on_poll = lambda p, _timeout: delivered_on_poll.append(p.deliver())
    outputs.slot(BOOK_TOP, 2).append(b"ABC", b"top", [("h", b"1")], 7)
    assert producer.refused == 2
    assert producer.polls == [FULL_QUEUE_WAIT_S, FULL_QUEUE_WAIT_S]
    assert delivered_on_poll == [1, 0]
    assert [(r.partition, r.value) for r in producer.records] == [(0, b"old"), (2, b"top")]
    assert producer.records[1].headers == [("h", b"1")]
    assert producer.records[1].timestamp == 7
    assert ledger.produced == {(BOOK_TOP, 0): 1, (BOOK_TOP, 2): 1}


def test_offsets_after_takes_the_next_offset_per_partition() -> None:
    batch = [
        FakeMessage(BOOKS_RAW, 0, 3, b""),
        FakeMessage(TRADES_RAW, 0, 9, b""),
        FakeMessage(BOOKS_RAW, 0, 4, b""),
        FakeMessage(BOOKS_RAW, 2, 0, b""),
    ]
    assert offsets_after(batch) == {(BOOKS_RAW, 0): 5, (TRADES_RAW, 0): 10, (BOOKS_RAW, 2): 1}


# ---- the loop ----------------------------------------------------------------------------------


async def test_the_service_subscribes_runs_then_drains_and_closes_on_stop(rig: Rig) -> None:
    rig.consumer.owned = []
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1), book_frame("ABC", "delta", 2)))
    rig.consumer.on_poll = lambda: rig.consumer.assign_now(owned(0, 1, 2, 3))
    # acknowledged only when the engine waits for it (its steps serve deliveries with no wait)
    rig.producer.on_poll = lambda p, timeout: p.deliver() if timeout > 0 else None
    await rig.engine.start()
    assert rig.consumer.subscribed == [BOOKS_RAW, TRADES_RAW]
    assert rig.consumer.on_assign == rig.engine.on_assign
    assert rig.consumer.on_revoke == rig.engine.on_revoke
    await eventually(lambda: rig.books.book("ABC") is not None and rig.consumer.polls)
    await rig.engine.stop()
    assert rig.books.book("ABC").last_u == 2  # type: ignore[union-attr]
    assert rig.consumer.commits == [Commit({(BOOKS_RAW, 0): 2}, asynchronous=False)]
    assert rig.consumer.closed
    assert rig.producer.flushes == [5]
    assert len(rig.producer) == 0


async def test_a_crash_of_the_loop_crashes_the_service_which_closes_without_commits(
    rig: Rig,
) -> None:
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1)))
    fatal = KafkaError(KafkaError._FATAL, "fenced", fatal=True)
    rig.consumer.queue(FakeMessage(BOOKS_RAW, 0, 1, b"", error=fatal))
    rig.producer.auto_deliver = True
    await rig.engine.start()
    await eventually(lambda: rig.engine.crash_reason is not None)
    assert isinstance(rig.engine.crash_reason, KafkaException)
    await rig.engine.stop()
    assert rig.consumer.closed
    assert rig.producer.flushes == [5]
    assert rig.consumer.commits == []


# ---- in a thread of its own --------------------------------------------------------------------


async def test_in_its_thread_it_waits_for_a_record_then_takes_what_is_fetched() -> None:
    rig = make_rig(threaded=True)
    rig.engine._loop = asyncio.get_running_loop()
    arriving = messages(
        book_frame("ABC", "snapshot", 1), b"{not json", book_frame("ABC", "delta", 2)
    )
    rig.consumer.on_poll = lambda: rig.consumer.queue(*arriving)
    rig.producer.auto_deliver = True
    await asyncio.to_thread(rig.engine.step_in_thread)
    size = SETTINGS.market_batch_size
    assert rig.consumer.polls == [SETTINGS.market_batch_ms / 1000]
    assert rig.consumer.consumes == [(size - 1, 0)]
    assert rig.books.book("ABC").last_u == 2  # type: ignore[union-attr]
    assert [letter.raw for letter in rig.dlq.letters] == [b"{not json"]  # via the event loop
    rig.consumer.on_poll = None
    await asyncio.to_thread(rig.engine.step_in_thread)  # idle: commits what is acknowledged
    assert rig.consumer.commits == [Commit({(BOOKS_RAW, 0): 3}, asynchronous=True)]


def test_in_its_thread_dead_letters_need_the_event_loop() -> None:
    rig = make_rig(threaded=True)
    rig.consumer.queue(*messages(b"{not json"))
    with pytest.raises(RuntimeError, match="event loop"):
        rig.engine.step_in_thread()
    assert rig.consumer.commits == []


async def test_threaded_the_service_runs_then_drains_and_closes_on_stop() -> None:
    rig = make_rig(threaded=True)
    rig.consumer.queue(*messages(book_frame("ABC", "snapshot", 1), book_frame("ABC", "delta", 2)))
    rig.producer.on_poll = lambda p, timeout: p.deliver() if timeout > 0 else None
    await rig.engine.start()
    await eventually(lambda: rig.books.book("ABC") is not None and len(rig.consumer.polls) > 1)
    await rig.engine.stop()
    assert rig.books.book("ABC").last_u == 2  # type: ignore[union-attr]
    assert rig.consumer.commits == [Commit({(BOOKS_RAW, 0): 2}, asynchronous=False)]
    assert rig.consumer.closed
    assert rig.producer.flushes == [5]


async def test_threaded_a_crash_of_the_loop_crashes_the_service_without_commits() -> None:
    rig = make_rig(threaded=True)
    fatal = KafkaError(KafkaError._FATAL, "fenced", fatal=True)
    rig.consumer.queue(FakeMessage(BOOKS_RAW, 0, 0, b"", error=fatal))
    await rig.engine.start()
    await eventually(lambda: rig.engine.crash_reason is not None)
    assert isinstance(rig.engine.crash_reason, KafkaException)
    await rig.engine.stop()
    assert rig.consumer.closed
    assert rig.consumer.commits == []


def test_survivors_are_frozen_out_of_full_collections_every_interval(monkeypatch: Any) -> None:
    freezes: list[float] = []
    clock = iter([100.0, 100.5, 101.0, 102.0, 103.1])
    monkeypatch.setattr("tradestream.agents.market_engine.gc.freeze", lambda: freezes.append(1))
    monkeypatch.setattr("tradestream.agents.market_engine.time.monotonic", lambda: next(clock))
    engine = make_rig(Settings(namespace="", partitions=4, market_gc_freeze_ms=2000)).engine
    for _ in range(5):
        engine.freeze_survivors()
    assert len(freezes) == 2  # at 100.0 (the first step) and 102.0, 2 s later; not in between


def test_freezing_can_be_turned_off(monkeypatch: Any) -> None:
    freezes: list[int] = []
    monkeypatch.setattr("tradestream.agents.market_engine.gc.freeze", lambda: freezes.append(1))
    engine = make_rig(Settings(namespace="", partitions=4, market_gc_freeze_ms=0)).engine
    engine.freeze_survivors()
    assert freezes == []
