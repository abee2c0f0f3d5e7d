"""The shared pipeline of the end-to-end fault tests and the checks every scenario ends with.

``start_run`` brings up a simulator (the recording copied to a symbol per scenario), an in-process
ingest service (one socket per symbol), a real worker and a recorder of the topics; ``settle``
pauses the source and checks one symbol: convergence to the simulator's book, the book-top trace
against ``book_trace``'s oracle, the raw topics against the simulator's sent log, ingest alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from tests.support.book_trace import Top, as_top, expected_tops
from tests.support.fault_pipeline import Pipeline, TopicRecorder
from tests.support.recordings import ALL_TOPICS
from tests.support.waiting import eventually
from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.files import SymbolConfig, SymbolsConfig
from tradestream.config.settings import Settings
from tradestream.core.staleness import StalenessConfig, StalenessThresholds
from tradestream.exchange.public_ws import PublicStreamClient, PublicStreamConfig
from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.sinks.dead_letters import DeadLetter, RedisDeadLetterQueue
from tradestream.streams import topics
from tradestream.streams.ingest import IngestConfig
from tradestream.streams.ingest_service import IngestService

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


@contextlib.asynccontextmanager
async def start_run() -> AsyncIterator[Run]:
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
    symbols = symbols_config(sim.symbols[:SYMBOL_COUNT])
    stale = StalenessThresholds(degraded_s=BOOK_STALE_S, critical_s=600.0)
    ingest_config = IngestConfig(
        stream=PublicStreamConfig(url=sim.url, backoff_initial_s=0.2),
        symbols_per_connection=1,
        staleness=StalenessConfig(by_kind={"orderbook.200": stale}),
        klines=(),  # books, trades and tickers only: what the faults are about
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


def symbols_config(names: tuple[str, ...]) -> SymbolsConfig:
    """Subscribe ingest to these symbols at the default depth."""
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


async def settle(run: Run, symbol: str) -> list[Top]:
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
    return published


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


def statuses(tops: list[Top]) -> list[str]:
    """Return the status of each published top, collapsing repeats."""
    collapsed: list[str] = []
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
    return next(prev for prev, u in itertools.pairwise(us) if u > prev + 1)
