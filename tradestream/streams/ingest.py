"""Ingest: Bybit public WebSocket frames → Kafka raw topics, unchanged, keyed by symbol.

Sockets hand frames to a bounded buffer; one pump task routes them and feeds the idempotent
producer. When the buffer is full, the ``block`` policy stops reading the sockets (TCP pushes back
on the exchange) and counts the time; ``drop_and_resync`` drops the frame, counts it, and
resubscribes that symbol so its book is repaired by a fresh snapshot. Nothing is dropped silently:
undecodable frames and unknown topics go to the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel, PositiveInt

from tradestream.config.files import SymbolsConfig
from tradestream.config.settings import Settings
from tradestream.core.staleness import StalenessConfig, StalenessTracker, topic_kind
from tradestream.exchange.public_ws import PublicStreamClient, PublicStreamConfig
from tradestream.schemas.bybit import symbol_of_topic, topic_decoder
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.streams.producer import RECV_TS_HEADER, SOURCE_HEADER, timestamp_header
from tradestream.streams.topics import raw_topic_for
from tradestream.web import metrics

log = logging.getLogger(__name__)

Frame = tuple[bytes, int, str]


@dataclass(frozen=True, slots=True)
class _Outgoing:
    topic: str
    key: bytes
    raw: bytes
    headers: list[tuple[str, bytes]]
    sent_at: float


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile (0..1) of already sorted values, nearest rank."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


class IngestConfig(BaseModel, frozen=True, extra="forbid"):
    """How ingest spreads symbols over connections and buffers their frames."""

    stream: PublicStreamConfig = PublicStreamConfig()
    symbols_per_connection: PositiveInt = 25
    buffer_size: PositiveInt = 20_000
    overflow: Literal["block", "drop_and_resync"] = "block"
    trades: bool = True
    tickers: bool = True
    staleness: StalenessConfig = StalenessConfig()


def topics_for(symbol: str, depth: int, config: IngestConfig) -> list[str]:
    """Return the Bybit topics ingest subscribes for one symbol."""
    topics = [f"orderbook.{depth}.{symbol}"]
    if config.trades:
        topics.append(f"publicTrade.{symbol}")
    if config.tickers:
        topics.append(f"tickers.{symbol}")
    return topics


class Ingestor:
    """Own the connections, the buffer and the producer of one ingest process."""

    def __init__(
        self,
        settings: Settings,
        config: IngestConfig,
        symbols: SymbolsConfig,
        producer: AIOKafkaProducer,
        dead_letters: DeadLetterQueue,
    ) -> None:
        self._settings = settings
        self._config = config
        self._producer = producer
        self._dead_letters = dead_letters
        self._buffer: asyncio.Queue[Frame] = asyncio.Queue(config.buffer_size)
        self.staleness = StalenessTracker(config.staleness)
        self.clients: list[PublicStreamClient] = []
        self._topics_by_symbol: dict[str, list[str]] = {}
        self._client_by_symbol: dict[str, PublicStreamClient] = {}
        self.produced = 0
        self._latencies: deque[float] = deque(maxlen=50_000)
        self._retries: set[asyncio.Task[None]] = set()
        self._build_clients(symbols)

    def _build_clients(self, symbols: SymbolsConfig) -> None:
        enabled = [s for s in symbols.symbols if s.enabled]
        size = self._config.symbols_per_connection
        now = time.monotonic()
        for index in range(0, len(enabled), size):
            chunk = enabled[index : index + size]
            topics: list[str] = []
            for sym in chunk:
                own = topics_for(sym.symbol, sym.book_depth, self._config)
                self._topics_by_symbol[sym.symbol] = own
                topics.extend(own)
                for topic in own:
                    self.staleness.expect(sym.symbol, topic_kind(topic), now)
            client = PublicStreamClient(
                f"ws{index // size}", topics, self._config.stream, self.on_frame
            )
            self.clients.append(client)
            for sym in chunk:
                self._client_by_symbol[sym.symbol] = client

    async def on_frame(self, raw: bytes, recv_ms: int, connection: str) -> None:
        """Take one frame from a socket into the buffer, applying the overflow policy."""
        buffer = self._buffer
        if not buffer.full():
            buffer.put_nowait((raw, recv_ms, connection))
            return
        if self._config.overflow == "block":
            started = time.monotonic()
            await buffer.put((raw, recv_ms, connection))
            metrics.ingest_blocked_seconds.inc(time.monotonic() - started)
            return
        await self._drop_and_resync(raw)

    async def _drop_and_resync(self, raw: bytes) -> None:
        try:
            symbol = symbol_of_topic(topic_decoder.decode(raw).topic)
        except (msgspec.DecodeError, msgspec.ValidationError):
            symbol = "?"
        metrics.ingest_overflow.labels(symbol=symbol).inc()
        log.warning("ingest buffer full: dropped a %s frame; resubscribing it", symbol)
        await self.resync(symbol)

    async def resync(self, symbol: str) -> bool:
        """Resubscribe a symbol's topics so the exchange sends fresh snapshots."""
        client = self._client_by_symbol.get(symbol)
        if client is None:
            return False
        metrics.ingest_resubscribes.labels(symbol=symbol).inc()
        return await client.resubscribe(self._topics_by_symbol[symbol])

    async def pump(self) -> None:
        """Move frames from the buffer to Kafka until cancelled."""
        buffer = self._buffer
        while True:
            frame = await buffer.get()
            await self._route(*frame)
            while not buffer.empty():
                await self._route(*buffer.get_nowait())
            metrics.ingest_buffer_depth.set(buffer.qsize())

    async def _route(self, raw: bytes, recv_ms: int, connection: str) -> None:
        try:
            topic = topic_decoder.decode(raw).topic
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._dead_letter(raw, connection, f"undecodable frame: {exc}")
            return
        spec = raw_topic_for(topic)
        if spec is None:
            await self._dead_letter(raw, connection, f"unknown topic {topic!r}")
            return
        symbol = symbol_of_topic(topic)
        self.staleness.seen(symbol, topic_kind(topic), time.monotonic())
        headers = [timestamp_header(RECV_TS_HEADER, recv_ms), (SOURCE_HEADER, connection.encode())]
        await self._send(
            _Outgoing(
                self._settings.scoped(spec.name),
                symbol.encode(),
                raw,
                headers,
                time.perf_counter(),
            )
        )

    async def _send(self, out: _Outgoing) -> None:
        future = await self._producer.send(
            out.topic, value=out.raw, key=out.key, headers=out.headers
        )
        future.add_done_callback(lambda done: self._on_delivered(done, out))

    def _on_delivered(self, done: asyncio.Future[object], out: _Outgoing) -> None:
        if done.cancelled() or done.exception() is not None:
            metrics.ingest_produce_retries.inc()
            log.warning("delivery to %s failed (%s); sending again", out.topic, done.exception())
            task = asyncio.get_running_loop().create_task(self._send(out))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
            return
        self.produced += 1
        self._latencies.append(time.perf_counter() - out.sent_at)
        metrics.ingest_frames.labels(topic=out.topic).inc()

    def produce_latency_ms(self) -> dict[str, float]:
        """Summarise the last deliveries' socket-to-broker-ack latency (p50, p99, max)."""
        values = sorted(self._latencies)
        return {
            "samples": float(len(values)),
            "p50": round(percentile(values, 0.50) * 1000, 3),
            "p99": round(percentile(values, 0.99) * 1000, 3),
            "max": round((values[-1] if values else 0.0) * 1000, 3),
        }

    async def _dead_letter(self, raw: bytes, connection: str, reason: str) -> None:
        metrics.dead_letters.labels(source="ingest").inc()
        await self._dead_letters.send(
            DeadLetter(raw, f"ingest:{connection}", reason, time.time_ns() // 1_000_000)
        )

    async def drain(self) -> None:
        """Send whatever is still buffered (at shutdown)."""
        while not self._buffer.empty():
            await self._route(*self._buffer.get_nowait())

    def report_staleness(self) -> list[dict[str, object]]:
        """Update staleness gauges and return the per-stream report for the health view."""
        report = []
        for symbol, kind, age, freshness in self.staleness.report(time.monotonic()):
            metrics.ingest_staleness.labels(symbol=symbol, kind=kind).set(age)
            report.append(
                {
                    "symbol": symbol,
                    "kind": kind,
                    "silent_s": round(age, 3),
                    "status": freshness.value,
                }
            )
        return report

    def connection_report(self) -> list[dict[str, object]]:
        """Describe each connection for the health view."""
        return [
            {
                "name": c.name,
                "connected": c.connected.is_set(),
                "connects": c.connects,
                "topics": len(c.topics),
            }
            for c in self.clients
        ]

    def symbols(self) -> Sequence[str]:
        """Return the ingested symbols."""
        return list(self._topics_by_symbol)
