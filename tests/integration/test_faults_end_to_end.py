"""Each market-data fault, end to end: simulator → ingest → Kafka → worker, through the real broker.

One pipeline serves the whole module (starting a worker dominates a scenario's cost): a replay of
the recording copied to twelve symbols, each on a connection of its own, so every test aims its
fault at a symbol nobody else touches. A test resumes the source, injects its fault mid-stream,
watches its effect, then pauses the source and checks its symbol (``settle``):

- the worker's book re-converges to the simulator's own book;
- every ``md.book.top`` record of the run is what a correct agent publishes for the frames the
  worker consumed (``book_trace``): first record after a gap ``invalid``, no ``valid`` one until a
  snapshot repaired the book, every valid top the exchange's top at that ``u``;
- each raw topic holds exactly the frames the simulator sent for the symbol, in order, op replies
  and deliberately broken frames excepted (those must be in the DLQ instead);
- ingest is still running: its tasks alive, ``/health`` answering with every socket connected.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from tests.support.book_trace import as_top, expected_tops
from tests.support.fault_pipeline import Pipeline, TopicRecorder
from tests.support.recordings import ALL_TOPICS
from tests.support.waiting import eventually
from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.files import SymbolConfig, SymbolsConfig
from tradestream.config.settings import Settings
from tradestream.core.staleness import StalenessConfig, StalenessThresholds
from tradestream.exchange.public_ws import PublicStreamClient, PublicStreamConfig
from tradestream.exchange.simulator import (
    BybitSimulator,
    FaultKind,
    FaultSpec,
    ReplaySourceConfig,
    SimulatorConfig,
)
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.sinks.dead_letters import DeadLetter, RedisDeadLetterQueue
from tradestream.streams import topics
from tradestream.streams.ingest import IngestConfig
from tradestream.streams.ingest_service import IngestService

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
SPEED = 4.0
"""Replay speed: the 44 s recording takes 11 s a loop; the replay loops until the module ends."""
SYMBOL_COUNT = 12
"""Symbols of the module's ingest; the simulator serves two more for a second ingest process."""
SHARDED = ("BTC4USDT", "ETH4USDT")
DEPTH = 50
"""Levels compared between the worker's and the simulator's books."""
BOOK_STALE_S = 1.0
"""Silence after which ingest reports a book stream degraded (so a stall shows within a test)."""
BOOK = topics.ORDERBOOK_RAW.name


class Run:
    """The module's pipeline plus its ingest service (in-process, so its tasks can be inspected)."""

    def __init__(
        self, pipeline: Pipeline, ingest: IngestService, config: IngestConfig, redis: Redis
    ) -> None:
        self.pipeline = pipeline
        self.ingest = ingest
        self.config = config
        self.dlq = RedisDeadLetterQueue(redis, pipeline.settings.dlq_stream)

    def client(self, symbol: str) -> PublicStreamClient:
        """Return ingest's socket that carries ``symbol``."""
        (client,) = [
            c for c in self.ingest.ingestor.clients if f"orderbook.200.{symbol}" in c.topics
        ]
        return client

    async def letters(self, symbol: str) -> list[DeadLetter]:
        """Return the dead letters ingest wrote for ``symbol``'s socket."""
        source = f"ingest:{self.client(symbol).name}"
        return [letter for letter in await self.dlq.read_all() if letter.source == source]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run() -> AsyncIterator[Run]:
    """Start simulator, ingest, worker and recorder on a namespace of their own; tear down."""
    settings = Settings(namespace=f"t{uuid.uuid4().hex[:10]}", web_port=free_port(), partitions=4)
    clickhouse = ClickHouseSink(settings)
    clickhouse.migrate()
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    served = SYMBOL_COUNT + len(SHARDED)
    source = ReplaySourceConfig(recording=(ALL_TOPICS,), speed=SPEED, loops=0, symbols=served)
    config = SimulatorConfig(port=0, source=source, keep_frames=True, start_paused=True)
    try:
        async with BybitSimulator(config) as sim:
            async for started in _start(settings, sim, redis):
                yield started
    finally:
        await _delete_topics(settings)
        await redis.delete(settings.dlq_stream)
        await redis.aclose()
        clickhouse.query(f"DROP DATABASE IF EXISTS {clickhouse.database}")
        clickhouse.close()


async def _start(settings: Settings, sim: BybitSimulator, redis: Redis) -> AsyncIterator[Run]:
    symbols = _symbols(sim.symbols[:SYMBOL_COUNT])
    stale = StalenessThresholds(degraded_s=BOOK_STALE_S, critical_s=600.0)
    ingest_config = IngestConfig(
        stream=PublicStreamConfig(url=sim.url, backoff_initial_s=0.2),
        symbols_per_connection=1,
        staleness=StalenessConfig(by_kind={"orderbook.200": stale}),
    )
    health_port = free_port()
    ingest = IngestService(settings, ingest_config, symbols, health_port=health_port)
    await ingest.start()
    names = [settings.scoped(t.name) for t in (*_RECORDED, topics.BOOK_TOP, topics.OPS_CONTROL)]
    recorder = TopicRecorder(settings, names)
    await recorder.start()
    worker = WorkerProcess(
        settings.web_port,
        ROOT / ".stack" / "logs" / f"test-worker-{settings.namespace}.log",
        env={"TRADESTREAM_NAMESPACE": settings.namespace, "TRADESTREAM_PARTITIONS": "4"},
    )
    worker.start()
    pipeline = Pipeline(settings, sim, worker, recorder, f"http://127.0.0.1:{health_port}/health")
    try:
        await worker.wait_ready()
        await eventually(
            lambda: sum(len(c.topics) for c in sim.hub.connections.values()) == 3 * SYMBOL_COUNT,
            message="ingest subscribed every topic",
        )
        yield Run(pipeline, ingest, ingest_config, redis)
    finally:
        await asyncio.to_thread(worker.stop)
        await recorder.stop()
        await ingest.stop()


_RECORDED = (topics.ORDERBOOK_RAW, topics.TRADES_RAW, topics.TICKERS_RAW)


def _symbols(names: tuple[str, ...]) -> SymbolsConfig:
    return SymbolsConfig(symbols=tuple(SymbolConfig(symbol=name) for name in names))


async def _delete_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{settings.namespace}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@pytest_asyncio.fixture(loop_scope="module")
async def flowing(run: Run) -> AsyncIterator[Pipeline]:
    """Let the source run for one test; leave no fault behind."""
    run.pipeline.sim.resume()
    yield run.pipeline
    run.pipeline.sim.injector.clear()


# --- shared checks ---------------------------------------------------------------------------


def book_frames_sent(p: Pipeline, symbol: str) -> int:
    """Count the orderbook frames the simulator has sent for ``symbol`` over every connection."""
    topic = f"orderbook.200.{symbol}"
    return sum(conn.log.by_topic[topic] for conn in p.connections(symbol))


async def advance(p: Pipeline, symbol: str, frames: int = 20) -> None:
    """Wait until ``frames`` more orderbook frames of ``symbol`` went out."""
    target = book_frames_sent(p, symbol) + frames
    await eventually(
        lambda: book_frames_sent(p, symbol) >= target, message=f"{symbol} streamed {frames}"
    )


async def settle(run: Run, symbol: str) -> list[tuple[object, ...]]:
    """Pause the source; check convergence, the book-top trace, the raw topics and ingest.

    Returns the published tops of ``symbol`` for the scenario's own assertions.
    """
    p = run.pipeline
    p.sim.pause()
    await eventually(
        lambda: p.converged(symbol, DEPTH), within=20, message=f"{symbol} book re-converged"
    )
    await eventually(
        lambda: p.raw_matches_sent(symbol), within=10, message=f"{symbol} raw topics == sent"
    )
    expected = expected_tops(p.raw(BOOK, symbol))
    await eventually(
        lambda: len(p.book_tops(symbol)) >= len(expected), message="every book top recorded"
    )
    published = [as_top(record) for record in p.book_tops(symbol)]
    assert published == expected
    await check_ingest_alive(run)
    return list(published)


async def check_ingest_alive(run: Run) -> None:
    """Assert ingest's tasks all run and its health view answers with every socket connected."""
    assert [t.get_name() for t in run.ingest._tasks if t.done()] == []
    status, health = await run.pipeline.ingest_health()
    assert status == 200
    assert all(c["connected"] for c in health["connections"])
    assert len(health["connections"]) == SYMBOL_COUNT


async def counters(p: Pipeline, symbol: str) -> dict[str, int]:
    """Return the worker's integrity counters of ``symbol``."""
    book = await p.worker_book(symbol, 1)
    assert book is not None
    keys = ("snapshots", "restarts", "deltas", "duplicates", "gaps", "not_ready", "last_u")
    return {key: int(book[key]) for key in keys}


def statuses(tops: list[tuple[object, ...]]) -> list[object]:
    """Return the status of each published top, collapsing repeats."""
    collapsed: list[object] = []
    for top in tops:
        if not collapsed or collapsed[-1] != top[0]:
            collapsed.append(top[0])
    return collapsed


def snapshot_us(frames: list[bytes]) -> list[int]:
    """Return the ``u`` of every snapshot among orderbook frames, in order."""
    decoded = [orjson.loads(f) for f in frames]
    return [int(d["data"]["u"]) for d in decoded if d["type"] == "snapshot"]


def last_u_before_gap(frames: list[bytes]) -> int:
    """Return the ``u`` of the last frame before the first jump in ``u``."""
    us = [int(orjson.loads(f)["data"]["u"]) for f in frames]
    return next(prev for prev, u in zip(us, us[1:], strict=False) if u > prev + 1)


# --- one test per fault ----------------------------------------------------------------------


async def test_dropped_connection_reconnects_and_a_fresh_snapshot_rebuilds_the_book(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "BTCUSDT"
    p = flowing
    client = run.client(symbol)
    await advance(p, symbol)
    before = p.live_connection(symbol)
    connects = client.connects

    reply = await p.inject(FaultSpec(fault=FaultKind.DROP, symbol=symbol))
    assert reply["dropped"] == [before.conn_id]
    await eventually(
        lambda: client.connects == connects + 1 and client.connected.is_set(),
        message="ingest reconnected",
    )
    assert p.live_connection(symbol).conn_id != before.conn_id
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert len(snapshot_us(p.raw(BOOK, symbol))) == 2
    assert (await counters(p, symbol))["gaps"] == 0
    assert await run.letters(symbol) == []


async def test_stalled_symbol_is_held_while_the_others_flow_then_catches_up(
    run: Run, flowing: Pipeline
) -> None:
    symbol, other = "ETHUSDT", "SOL3USDT"
    p = flowing
    await advance(p, symbol)
    await p.inject(FaultSpec(fault=FaultKind.STALL, symbol=symbol))
    sent_at_stall = book_frames_sent(p, symbol)
    await advance(p, other, 100)

    assert book_frames_sent(p, symbol) == sent_at_stall
    assert p.live_connection(symbol).stats()["held"] > 0
    await eventually(lambda: _stream_status(p, symbol), message=f"{symbol} reported degraded")
    assert await _stream_status(p, other) is False
    assert (await counters(p, symbol))["last_u"] == orjson.loads(p.raw(BOOK, symbol)[-1])["data"][
        "u"
    ]

    await p.clear(FaultKind.STALL, symbol)
    await advance(p, symbol)
    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert await _stream_status(p, symbol) is False or p.sim.stats()["source"]["paused"]


async def _stream_status(p: Pipeline, symbol: str) -> bool:
    # Is ingest reporting the symbol's book stream as silent for too long?
    _, health = await p.ingest_health()
    (stream,) = [
        s for s in health["streams"] if s["symbol"] == symbol and s["kind"] == "orderbook.200"
    ]
    return bool(stream["status"] != "ok")


async def test_gap_marks_the_book_invalid_until_a_snapshot_repairs_it(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "SOLUSDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=symbol, count=3))
    await eventually(lambda: conn.log.withheld[f"orderbook.200.{symbol}"] == 3)
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid", "invalid", "valid"]
    first_invalid = next(i for i, top in enumerate(tops) if top[0] == "invalid")
    assert tops[first_invalid][1] == last_u_before_gap(p.raw(BOOK, symbol))
    repaired = tops[first_invalid + 1]
    assert repaired[1] in snapshot_us(p.raw(BOOK, symbol))[1:]
    assert (await counters(p, symbol))["gaps"] == 1


async def test_fresh_snapshot_mid_stream_keeps_the_book_valid(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "DOGEUSDT"
    p = flowing
    await advance(p, symbol)
    reply = await p.inject(FaultSpec(fault=FaultKind.SNAPSHOT, symbol=symbol))
    assert reply["snapshots"] == 1
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert len(snapshot_us(p.raw(BOOK, symbol))) == 2
    seen = await counters(p, symbol)
    assert (seen["snapshots"], seen["gaps"], seen["restarts"]) == (2, 0, 0)


async def test_restart_snapshot_restarts_the_sequence_at_one(run: Run, flowing: Pipeline) -> None:
    symbol = "BTC2USDT"
    p = flowing
    await advance(p, symbol, 40)
    reply = await p.inject(FaultSpec(fault=FaultKind.RESTART, symbol=symbol))
    assert reply["snapshots"] == 1
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert snapshot_us(p.raw(BOOK, symbol))[-1] == 1
    seen = await counters(p, symbol)
    assert (seen["restarts"], seen["gaps"]) == (1, 0)
    assert seen["last_u"] < 40


@pytest.mark.parametrize(
    ("kind", "symbol"),
    [
        (FaultKind.MALFORMED, "ETH2USDT"),
        (FaultKind.TRUNCATED, "SOL2USDT"),
        (FaultKind.NON_JSON, "DOGE2USDT"),
    ],
)
async def test_broken_frame_is_dead_lettered_and_the_stream_goes_on(
    run: Run, flowing: Pipeline, kind: FaultKind, symbol: str
) -> None:
    p = flowing
    await advance(p, symbol)
    reply = await p.inject(FaultSpec(fault=kind, symbol=symbol))
    assert reply["sent"] == [p.live_connection(symbol).conn_id]
    await advance(p, symbol)

    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    broken = p.sent(symbol).broken
    assert len(broken) == 1
    letters = await eventually(lambda: run.letters(symbol), message="dead letter written")
    assert [letter.raw for letter in letters] == broken
    assert letters[0].reason.startswith("undecodable frame")


async def test_duplicated_frames_reach_kafka_twice_and_the_book_ignores_them(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "BTC3USDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    await p.inject(FaultSpec(fault=FaultKind.DUPLICATE, symbol=symbol, count=20))
    await eventually(lambda: conn.rules() == [], message="20 frames duplicated")
    await advance(p, symbol)

    tops = await settle(run, symbol)
    # Ingest stores frames as received, so the raw topics carry both copies (``settle`` compared
    # them with the sent log, duplicates included); the book drops the repeated ``u``s.
    sent = [f for f in conn.log.kept or [] if f.startswith(b'{"topic"')]
    doubled = [a for a, b in zip(sent, sent[1:], strict=False) if a == b]
    assert len(doubled) == 20
    doubled_deltas = [f for f in doubled if b'"delta"' in f and b"orderbook" in f[:40]]
    assert statuses(tops) == ["valid"]
    seen = await counters(p, symbol)
    assert (seen["duplicates"], seen["gaps"]) == (len(doubled_deltas), 0)


async def test_slow_sending_falls_behind_then_catches_up(run: Run, flowing: Pipeline) -> None:
    symbol, other = "ETH3USDT", "DOGE3USDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    await p.inject(FaultSpec(fault=FaultKind.SLOW, symbol=symbol, delay_ms=50))
    await eventually(lambda: conn.backlog > 50, message=f"{symbol} fell behind")
    await advance(p, other, 50)
    assert conn.backlog > 50

    await p.clear(FaultKind.SLOW, symbol)
    tops = await settle(run, symbol)
    assert statuses(tops) == ["valid"]
    assert (await counters(p, symbol))["gaps"] == 0


async def test_gap_is_repaired_by_a_resync_request_without_a_manual_step(
    run: Run, flowing: Pipeline
) -> None:
    symbol = "SOL3USDT"
    p = flowing
    await advance(p, symbol)
    conn = p.live_connection(symbol)
    replies_before = len(p.sent(symbol).replies)
    await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=symbol, count=1))

    requests = await eventually(lambda: p.resyncs(symbol), message="worker asked for a resync")
    assert [(r.symbol, r.reason) for r in requests] == [(symbol, "gap")]
    await eventually(lambda: _resubscribed(p, symbol, replies_before), message="resubscribed")
    assert p.live_connection(symbol) is conn  # the same socket: no reconnect, no manual step
    await eventually(lambda: _book_valid(p, symbol), message="book valid again")

    await settle(run, symbol)
    assert len(p.resyncs(symbol)) == 1
    assert len(snapshot_us(p.raw(BOOK, symbol))) == 2


def _resubscribed(p: Pipeline, symbol: str, replies_before: int) -> bool:
    replies = p.sent(symbol).replies[replies_before:]
    ops = [reply["op"] for reply in replies if reply["op"] != "ping"]
    return ops[:2] == ["unsubscribe", "subscribe"]


async def _book_valid(p: Pipeline, symbol: str) -> bool:
    book = await p.worker_book(symbol, 1)
    return book is not None and book["status"] == "valid" and book["gaps"] == 1



async def test_resync_reaches_the_ingest_process_that_owns_the_symbol(
    run: Run, flowing: Pipeline
) -> None:
    # Symbols sharded over two ingest processes in one namespace: each must hear every request.
    symbol = SHARDED[0]
    p = flowing
    second = IngestService(p.settings, run.config, _symbols(SHARDED), health_port=free_port())
    await second.start()
    try:
        await eventually(lambda: len(p.connections(symbol)) == 1, message="second ingest up")
        await advance(p, symbol)
        await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=symbol, count=1))
        # Well before the worker's retry (5 s): the first request itself reached the owner.
        await eventually(lambda: _book_valid(p, symbol), within=4, message="book repaired")
        await settle(run, symbol)
        assert [r.reason for r in p.resyncs(symbol)] == ["gap"]
    finally:
        await second.stop()
