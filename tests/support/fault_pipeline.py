"""Simulator → ingest → Kafka → worker wired for end-to-end fault tests, and the evidence.

The evidence comes from three independent places: what the simulator says it sent (its per
connection sent log and its own book), what is on the broker (every record of the run, read by
``TopicRecorder``), and what the worker serves (``/books/``). Each symbol rides on a connection
of its own (``symbols_per_connection=1``), so a fault aimed at one symbol touches nothing else
and one pipeline can host a scenario per symbol.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer

from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.schemas.market import BookTop, RequestResync, book_top_decoder
from tradestream.simulator import BybitSimulator, FaultKind, FaultSpec
from tradestream.simulator.connection import Connection
from tradestream.streams import topics

RAW_SPECS = (topics.ORDERBOOK_RAW, topics.TRADES_RAW, topics.TICKERS_RAW)
_KAFKA_OF_BYBIT = {"orderbook": topics.ORDERBOOK_RAW, "publicTrade": topics.TRADES_RAW}
_TIMEOUT = aiohttp.ClientTimeout(total=5)

Levels = list[tuple[Decimal, Decimal]]


class TopicRecorder:
    """Read topics from their beginning in the background and keep every record by key."""

    def __init__(self, settings: Settings, names: Sequence[str]) -> None:
        self._settings = settings
        self._names = list(names)
        self._records: dict[tuple[str, bytes], list[bytes]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Subscribe (no group: every partition, from the earliest offset) and start reading."""
        self._consumer = AIOKafkaConsumer(
            *self._names,
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._read(self._consumer), name="test-recorder")

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def values(self, name: str, key: str) -> list[bytes]:
        """Return the values read so far from topic ``name`` (unscoped) under ``key``, in order."""
        return list(self._records[(self._settings.scoped(name), key.encode())])

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for partition, messages in batch.items():
                for message in messages:
                    key = (partition.topic, message.key or b"")
                    self._records[key].append(message.value or b"")


@dataclass(frozen=True, slots=True)
class SentFrames:
    """What the simulator wrote for one symbol, sorted by what it was."""

    by_topic: dict[str, list[bytes]]
    """Market-data frames by Kafka raw topic name (unscoped), in the order they were sent."""
    broken: list[bytes]
    """Frames that are not JSON (the broken-frame faults)."""
    replies: list[dict[str, Any]]
    """Op replies (acks, pongs), decoded."""


def classify(frames: Iterable[bytes]) -> SentFrames:
    """Sort sent frames into market data (by raw topic), broken frames and op replies."""
    by_topic: dict[str, list[bytes]] = {spec.name: [] for spec in RAW_SPECS}
    broken: list[bytes] = []
    replies: list[dict[str, Any]] = []
    for frame in frames:
        try:
            decoded = orjson.loads(frame)
        except orjson.JSONDecodeError:
            broken.append(frame)
            continue
        if "topic" in decoded:
            family = str(decoded["topic"]).split(".", 1)[0]
            by_topic[_KAFKA_OF_BYBIT.get(family, topics.TICKERS_RAW).name].append(frame)
        else:
            replies.append(decoded)
    return SentFrames(by_topic, broken, replies)


@dataclass
class Pipeline:
    """One running simulator → ingest → Kafka → worker chain and the recorder of its topics."""

    settings: Settings
    sim: BybitSimulator
    worker: WorkerProcess
    recorder: TopicRecorder
    health_url: str

    # --- the simulator's side --------------------------------------------------------------

    def connections(self, symbol: str) -> list[Connection]:
        """Return every connection (closed first, in opening order) that carried ``symbol``."""
        hub = self.sim.hub
        every = [*hub.closed, *hub.connections.values()]
        return [c for c in every if any(t.endswith(f".{symbol}") for t in c.topics | _ever(c))]

    def live_connection(self, symbol: str) -> Connection:
        """Return the open connection that carries ``symbol``."""
        (conn,) = [
            c for c in self.sim.hub.connections.values() if f"orderbook.200.{symbol}" in c.topics
        ]
        return conn

    def sent(self, symbol: str) -> SentFrames:
        """Return what the simulator sent on the connections that carried ``symbol``."""
        return classify(f for conn in self.connections(symbol) for f in conn.log.kept or [])

    async def inject(self, spec: FaultSpec) -> dict[str, Any]:
        """Inject a fault through the admin API, as an operator would."""
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.post(f"{self.sim.admin_url}/faults", data=spec.model_dump_json()) as response,
        ):
            assert response.status == 200, await response.text()
            return dict(await response.json())

    async def clear(self, kind: FaultKind, symbol: str) -> None:
        """Clear one kind of fault on one symbol through the admin API."""
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.delete(
                f"{self.sim.admin_url}/faults", params={"fault": kind.value, "symbol": symbol}
            ) as response,
        ):
            assert response.status == 200, await response.text()

    async def sim_book(self, symbol: str, depth: int) -> tuple[Levels, Levels]:
        """Return the simulator's own book (``/admin/book``), top ``depth`` levels."""
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.get(f"{self.sim.admin_url}/book/{symbol}", params={"depth": depth}) as resp,
        ):
            view = await resp.json()
        return _levels(view["bids"]), _levels(view["asks"])

    # --- the worker's side -----------------------------------------------------------------

    async def worker_book(self, symbol: str, depth: int) -> dict[str, Any] | None:
        """Return the worker's live book record of ``symbol`` (``/books/?depth=N``)."""
        books = (await self.worker.get_json(f"/books/?depth={depth}"))["books"]
        return next((b for b in books if b["symbol"] == symbol), None)

    async def converged(self, symbol: str, depth: int = 50) -> bool:
        """Tell whether the worker serves a valid book equal to the simulator's, ``depth`` deep."""
        book = await self.worker_book(symbol, depth)
        if book is None or book["status"] != "valid":
            return False
        return (_levels(book["bids"]), _levels(book["asks"])) == await self.sim_book(symbol, depth)

    # --- the broker's side -----------------------------------------------------------------

    def raw(self, name: str, symbol: str) -> list[bytes]:
        """Return the records of a raw topic for ``symbol``, in broker order."""
        return self.recorder.values(name, symbol)

    def book_tops(self, symbol: str) -> list[BookTop]:
        """Return every ``md.book.top`` record of ``symbol``, in order."""
        return [
            book_top_decoder.decode(v) for v in self.recorder.values(topics.BOOK_TOP.name, symbol)
        ]

    def resyncs(self, symbol: str) -> list[RequestResync]:
        """Return the resync requests on ``ops.control`` for ``symbol``."""
        values = self.recorder.values(topics.OPS_CONTROL.name, symbol)
        return [RequestResync(**orjson.loads(v)) for v in values]

    def raw_matches_sent(self, symbol: str) -> bool:
        """Tell whether each raw topic holds exactly the frames sent for ``symbol``, in order."""
        sent = self.sent(symbol).by_topic
        return all(self.raw(name, symbol) == frames for name, frames in sent.items())

    # --- ingest's side ---------------------------------------------------------------------

    async def ingest_health(self) -> tuple[int, dict[str, Any]]:
        """Return ingest's ``/health`` status code and body."""
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.get(self.health_url) as response,
        ):
            return response.status, dict(await response.json())


def _ever(conn: Connection) -> set[str]:
    # A closed connection forgets its topics; its stats kept them only while it was open.
    return set(conn.log.by_topic)


def _levels(levels: Iterable[Sequence[str]]) -> Levels:
    return [(Decimal(price), Decimal(size)) for price, size in levels]
