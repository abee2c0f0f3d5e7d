"""Ingest without a broker: routing, partitions, overflow policies, dead letters, re-sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.kafka_fakes import FakeBatchProducer
from tests.support.waiting import eventually
from tradestream.config.files import SymbolConfig, SymbolsConfig
from tradestream.config.settings import Settings
from tradestream.sinks.dead_letters import MemoryDeadLetterQueue
from tradestream.streams.ingest import IngestConfig, Ingestor
from tradestream.streams.partitioning import partition_for_key
from tradestream.web import metrics

SYMBOLS = SymbolsConfig(symbols=(SymbolConfig(symbol="BTCUSDT"), SymbolConfig(symbol="ETHUSDT")))
BOOK = "ut.md.orderbook.raw"


def frame(symbol: str, n: int, topic: str = "orderbook.200") -> bytes:
    return b'{"topic":"%s.%s","type":"delta","data":{"n":%d}}' % (
        topic.encode(),
        symbol.encode(),
        n,
    )


class Rig:
    """An ingestor over the fake producer and an in-memory DLQ."""

    def __init__(self, **config: object) -> None:
        self.producer = FakeBatchProducer(partition_count=3)
        self.dlq = MemoryDeadLetterQueue()
        self.ingestor = Ingestor(
            Settings(namespace="ut"),
            IngestConfig.model_validate({"linger_ms": 0, **config}),
            SYMBOLS,
            self.producer,  # type: ignore[arg-type]
            self.dlq,
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    made = Rig()
    pump = asyncio.create_task(made.ingestor.pump())
    yield made
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)


async def test_frames_keep_order_per_key_on_the_default_partition(rig: Rig) -> None:
    for n in range(50):
        for symbol in ("BTCUSDT", "ETHUSDT"):
            await rig.ingestor.on_frame(frame(symbol, n), 1_000 + n, "ws0")
    await eventually(lambda: sum(len(s.records) for s in rig.producer.submitted) == 100)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        partition = partition_for_key(symbol.encode(), [0, 1, 2])
        assert [v for v in rig.producer.values(BOOK, partition) if symbol.encode() in v] == [
            frame(symbol, n) for n in range(50)
        ]
    key, _, headers, timestamp = rig.producer.submitted[0].records[0]
    assert key in (b"BTCUSDT", b"ETHUSDT")
    assert headers == [("recv_ts_ms", b"1000"), ("source", b"ws0")]
    assert timestamp == 1000


async def test_produced_counts_acknowledged_frames_only(rig: Rig) -> None:
    await rig.ingestor.on_frame(frame("BTCUSDT", 1, "publicTrade"), 5, "ws0")
    await eventually(lambda: rig.producer.submitted)
    assert rig.ingestor.produced == 0
    rig.producer.ack_all()
    await eventually(lambda: rig.ingestor.produced == 1)
    assert rig.ingestor.produce_latency_ms()["samples"] == 1.0


async def test_a_failed_batch_is_produced_once_after_the_resend(rig: Rig) -> None:
    await rig.ingestor.on_frame(frame("BTCUSDT", 1), 5, "ws0")
    await eventually(lambda: rig.producer.submitted)
    rig.producer.submitted[0].future.set_exception(ConnectionError("broker gone"))
    await eventually(lambda: len(rig.producer.submitted) == 2)
    rig.producer.ack_all()
    await eventually(lambda: rig.ingestor.produced == 1)
    assert rig.producer.submitted[1].values == [frame("BTCUSDT", 1)]


async def test_bad_frames_go_to_the_dead_letter_queue(rig: Rig) -> None:
    await rig.ingestor.on_frame(b"not json", 5, "ws1")
    await rig.ingestor.on_frame(frame("BTCUSDT", 1, "liquidation"), 5, "ws1")
    await rig.ingestor.on_frame(frame("BTCUSDT", 2), 5, "ws1")
    await eventually(lambda: rig.producer.submitted)
    assert [letter.reason.split(":")[0] for letter in rig.dlq.letters] == [
        "undecodable frame",
        "unknown topic 'liquidation.BTCUSDT'",
    ]
    assert rig.producer.submitted[0].values == [frame("BTCUSDT", 2)]


async def test_block_policy_holds_the_socket_until_there_is_room() -> None:
    made = Rig(buffer_size=2)
    for n in range(2):
        await made.ingestor.on_frame(frame("BTCUSDT", n), 5, "ws0")
    third = asyncio.create_task(made.ingestor.on_frame(frame("BTCUSDT", 2), 5, "ws0"))
    await asyncio.sleep(0.01)
    assert not third.done()
    pump = asyncio.create_task(made.ingestor.pump())
    try:
        await asyncio.wait_for(third, 1)
        await eventually(lambda: len(made.producer.values(BOOK, _partition("BTCUSDT"))) == 3)
    finally:
        pump.cancel()


async def test_drop_and_resync_policy_drops_and_counts() -> None:
    made = Rig(buffer_size=1, overflow="drop_and_resync")
    before = _overflows("ETHUSDT")
    await made.ingestor.on_frame(frame("ETHUSDT", 1), 5, "ws0")
    await made.ingestor.on_frame(frame("ETHUSDT", 2), 5, "ws0")
    assert _overflows("ETHUSDT") == before + 1
    await made.ingestor.drain()
    assert made.producer.values(BOOK, _partition("ETHUSDT")) == [frame("ETHUSDT", 1)]


def _partition(symbol: str) -> int:
    return partition_for_key(symbol.encode(), [0, 1, 2])


def _overflows(symbol: str) -> float:
    value = metrics.registry.get_sample_value(
        "tradestream_ingest_overflow_total", {"symbol": symbol}
    )
    return value or 0.0


async def test_resync_resubscribes_only_the_order_book(monkeypatch: pytest.MonkeyPatch) -> None:
    made = Rig()
    asked: list[list[str]] = []

    async def resubscribe(topics: list[str]) -> bool:
        asked.append(list(topics))
        return True

    client = next(c for c in made.ingestor.clients if "orderbook.200.ETHUSDT" in c.topics)
    monkeypatch.setattr(client, "resubscribe", resubscribe)
    assert await made.ingestor.resync("ETHUSDT") is True
    assert asked == [["orderbook.200.ETHUSDT"]]
    assert await made.ingestor.resync("XRPUSDT") is False
