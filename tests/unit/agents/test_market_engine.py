"""The market engine's batch logic: error boundary, commit after the acks, rebalances."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from tests.support.kafka_fakes import FakeBatchProducer
from tradestream.agents.market import MarketBatches
from tradestream.agents.market_engine import MarketEngine, OffsetLedger
from tradestream.config.settings import Settings
from tradestream.core.errors import HaltError
from tradestream.core.market import MarketBooks
from tradestream.sinks.dead_letters import MemoryDeadLetterQueue
from tradestream.streams.partitioning import partition_for_key
from tradestream.streams.record_batches import PartitionBatcher

SETTINGS = Settings(namespace="", partitions=4, market_commit_interval_ms=1)
BOOKS_RAW = TopicPartition("md.orderbook.raw", 0)


@dataclass(frozen=True)
class FakeRecord:
    """The fields of an aiokafka ``ConsumerRecord`` the engine reads."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: int = 1_000
    headers: tuple[tuple[str, bytes], ...] = (("recv_ts_us", b"1000000"),)


@dataclass
class FakeConsumer:
    """Hand out queued fetches; keep the commits."""

    fetches: list[dict[TopicPartition, list[FakeRecord]]] = field(default_factory=list)
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    owned: set[TopicPartition] = field(default_factory=lambda: {BOOKS_RAW})

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Any:
        return self.fetches.pop(0) if self.fetches else {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def assignment(self) -> set[TopicPartition]:
        return self.owned


async def settle() -> None:
    """Let the engine's background sender and delivery callbacks run."""
    for _ in range(5):
        await asyncio.sleep(0)


def book_frame(symbol: str, kind: str, u: int) -> bytes:
    data = {"s": symbol, "b": [["1.0", "1"]], "a": [["1.1", str(u)]], "u": u, "seq": u}
    frame = {"topic": f"orderbook.50.{symbol}", "type": kind, "ts": 1000 + u, "cts": 999 + u}
    return orjson.dumps({**frame, "data": data})


def fetch(*values: bytes, first: int = 0) -> dict[TopicPartition, list[FakeRecord]]:
    offsets = itertools.count(first)
    records = [FakeRecord(BOOKS_RAW.topic, 0, next(offsets), b"ABC", v) for v in values]
    return {BOOKS_RAW: records}


@dataclass
class Rig:
    engine: MarketEngine
    consumer: FakeConsumer
    producer: FakeBatchProducer
    dlq: MemoryDeadLetterQueue
    books: MarketBooks


@pytest.fixture
def rig() -> Rig:
    return make_rig(SETTINGS)


def make_rig(settings: Settings) -> Rig:
    producer = FakeBatchProducer(partition_count=4)
    consumer = FakeConsumer()
    dlq = MemoryDeadLetterQueue()
    books = MarketBooks(clock=lambda: 5)
    holder: list[MarketEngine] = []
    batcher = PartitionBatcher(
        producer,  # type: ignore[arg-type]
        lambda *_: holder[0].wake(),
        lambda *_: holder[0].wake(),
    )
    batches = MarketBatches(books, batcher, settings, lambda: 5, lambda: 5_000)
    engine = MarketEngine(
        settings,
        consumer=consumer,  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        batcher=batcher,
        batches=batches,
        dlq=dlq,
    )
    holder.append(engine)
    return Rig(engine, consumer, producer, dlq, books)


async def test_a_bad_frame_is_dead_lettered_and_the_rest_of_the_batch_goes_on(rig: Rig) -> None:
    rig.consumer.fetches.append(
        fetch(book_frame("ABC", "snapshot", 1), b"{not json", book_frame("ABC", "delta", 2))
    )
    await rig.engine.step()
    await settle()
    assert [letter.raw for letter in rig.dlq.letters] == [b"{not json"]
    assert rig.dlq.letters[0].source == "md.orderbook.raw"
    book = rig.books.book("ABC")
    assert book is not None
    assert book.last_u == 2
    tops = [s for s in rig.producer.submitted if s.topic == "md.book.top"]
    assert [len(s.records) for s in tops] == [2]
    assert tops[0].partition == partition_for_key(b"ABC", range(4))
    headers = dict(tops[0].records[0][2])
    assert headers == {"produced_ts_us": b"5000", "recv_ts_us": b"1000000"}


async def test_a_halt_stops_the_batch_uncommitted(rig: Rig, monkeypatch: Any) -> None:
    def halt(raw: bytes, recv_ts_ms: int) -> Any:
        raise HaltError("broken invariant")

    monkeypatch.setattr(rig.books, "apply", halt)
    rig.consumer.fetches.append(fetch(book_frame("ABC", "snapshot", 1)))
    with pytest.raises(HaltError):
        await rig.engine.step()
    rig.producer.ack_all()
    await rig.engine.step()
    assert rig.consumer.commits == []
    assert rig.dlq.letters == []


async def test_offsets_are_committed_only_after_their_outputs_are_acknowledged(rig: Rig) -> None:
    rig.consumer.fetches.append(
        fetch(book_frame("ABC", "snapshot", 1), book_frame("ABC", "delta", 2))
    )
    await rig.engine.step()
    await settle()
    await rig.engine.step()  # idle: nothing acknowledged yet, so nothing to commit
    assert rig.consumer.commits == []
    assert rig.producer.submitted
    rig.producer.ack_all()
    await settle()
    await rig.engine.step()
    assert rig.consumer.commits == [{BOOKS_RAW: 2}]


async def test_a_failed_delivery_is_sent_again_before_the_commit(rig: Rig) -> None:
    rig.consumer.fetches.append(fetch(book_frame("ABC", "snapshot", 1)))
    await rig.engine.step()
    await settle()
    sent_first = len(rig.producer.submitted)
    for batch in rig.producer.submitted:
        batch.future.set_exception(OSError("broker gone"))
    await settle()
    await rig.engine.step()
    assert rig.consumer.commits == []
    assert len(rig.producer.submitted) == 2 * sent_first
    rig.producer.ack_all()
    await settle()
    await rig.engine.step()
    assert rig.consumer.commits == [{BOOKS_RAW: 1}]


async def test_revoked_partitions_are_drained_committed_and_their_books_dropped(
    rig: Rig,
) -> None:
    symbol = next(
        s for s in ("ABC", "XYZ", "QRS", "LMN") if partition_for_key(s.encode(), range(4)) == 0
    )
    rig.consumer.fetches.append(fetch(book_frame(symbol, "snapshot", 1)))
    await rig.engine.step()
    revoking = asyncio.ensure_future(rig.engine.on_revoked({BOOKS_RAW}))
    await settle()
    assert not revoking.done()  # waits for the broker's acknowledgement
    rig.producer.ack_all()
    await revoking
    assert rig.consumer.commits == [{BOOKS_RAW: 1}]
    rig.engine.on_assigned({TopicPartition(BOOKS_RAW.topic, 1)})
    assert rig.books.book(symbol) is None


async def test_partitions_that_come_back_keep_their_books(rig: Rig) -> None:
    rig.consumer.fetches.append(fetch(book_frame("ABC", "snapshot", 1)))
    await rig.engine.step()
    await settle()
    rig.producer.ack_all()
    await rig.engine.on_revoked({BOOKS_RAW})
    rig.engine.on_assigned({BOOKS_RAW})
    assert rig.books.book("ABC") is not None


def test_the_ledger_releases_offsets_in_order_of_acknowledgement() -> None:
    ledger = OffsetLedger()
    ledger.add(1, {BOOKS_RAW: 10})
    ledger.add(3, {BOOKS_RAW: 20})
    assert ledger.ready(0) == {}
    assert ledger.ready(2) == {BOOKS_RAW: 10}
    assert ledger.ready(3) == {BOOKS_RAW: 20}
    assert len(ledger) == 0


async def test_the_loop_waits_while_too_many_outputs_are_unacknowledged(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tradestream.agents.market_engine.MAX_UNACKED_RECORDS", 1)
    rig.consumer.fetches.append(fetch(book_frame("ABC", "snapshot", 1)))
    stepping = asyncio.ensure_future(rig.engine.step())
    await settle()
    assert not stepping.done()
    rig.producer.ack_all()
    await settle()
    assert stepping.done()
    assert rig.consumer.commits == [{BOOKS_RAW: 1}]


async def test_with_a_linger_outputs_of_several_fetches_go_out_together() -> None:
    rig = make_rig(SETTINGS.model_copy(update={"market_linger_ms": 3_600_000}))
    rig.consumer.fetches.append(fetch(book_frame("ABC", "snapshot", 1)))
    await rig.engine.step()  # the first release is due at once
    await settle()
    sent = len(rig.producer.submitted)
    assert sent >= 1
    rig.consumer.fetches.append(fetch(book_frame("ABC", "delta", 2), first=1))
    await rig.engine.step()  # within the linger: kept back
    rig.consumer.fetches.append(fetch(book_frame("ABC", "delta", 3), first=2))
    await rig.engine.step()
    await settle()
    assert len(rig.producer.submitted) == sent
    await rig.engine.step()  # idle: whatever is built goes out, as one batch per partition
    await settle()
    later = rig.producer.submitted[sent:]
    assert [(s.topic, len(s.records)) for s in later] == [("md.book.top", 2)]
    rig.producer.ack_all()
    await settle()
    await rig.engine.step()
    assert rig.consumer.commits[-1] == {BOOKS_RAW: 3}
