"""Run ingest as a service: connections, pump, resync requests from ``ops.control``, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradestream.config.files import SymbolsConfig
from tradestream.config.redis import redis_client
from tradestream.config.settings import Settings
from tradestream.core.staleness import Freshness
from tradestream.schemas.market import RequestResync
from tradestream.sinks.dead_letters import RedisDeadLetterQueue
from tradestream.streams.admin import ensure_topics
from tradestream.streams.ingest import IngestConfig, Ingestor
from tradestream.streams.producer import build_producer
from tradestream.streams.topics import OPS_CONTROL
from tradestream.web.metrics import registry

log = logging.getLogger(__name__)


class _ControlProbe(msgspec.Struct):
    kind: str = ""


_probe = msgspec.json.Decoder(_ControlProbe)
_resync = msgspec.json.Decoder(RequestResync)
_SEVERITY = {Freshness.OK.value: 0, Freshness.DEGRADED.value: 1, Freshness.CRITICAL.value: 2}


class IngestService:
    """Everything one ``tradestream ingest`` process runs, started and stopped together."""

    def __init__(
        self,
        settings: Settings,
        config: IngestConfig,
        symbols: SymbolsConfig,
        health_port: int,
    ) -> None:
        self._settings = settings
        self._config = config
        self._symbols = symbols
        self._health_port = health_port
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._redis = redis_client(settings)
        self._producer = build_producer(settings)
        self.ingestor = Ingestor(
            settings,
            config,
            symbols,
            self._producer,
            RedisDeadLetterQueue(self._redis, settings.dlq_stream),
        )

    async def start(self) -> None:
        """Create topics, start the producer, the sockets, the pump and the health server."""
        await ensure_topics(self._settings)
        await self._producer.start()
        self._tasks = [asyncio.create_task(self.ingestor.pump(), name="ingest-pump")]
        self._tasks += [asyncio.create_task(c.run(), name=c.name) for c in self.ingestor.clients]
        self._tasks.append(asyncio.create_task(self._follow_control(), name="ingest-control"))
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._settings.web_host, self._health_port).start()
        log.info(
            "ingest: %d symbols on %d connections, health on :%d",
            len(self.ingestor.symbols()),
            len(self.ingestor.clients),
            self._health_port,
        )

    async def stop(self) -> None:
        """Close sockets, deliver what is buffered, and stop."""
        for client in self.ingestor.clients:
            await client.stop()
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        await self.ingestor.drain()
        self._tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks[0]
        await self._producer.flush()
        await self._producer.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self._redis.aclose()

    async def _follow_control(self) -> None:
        # No consumer group: every ingest process must see every request (each owns some
        # symbols), and a group would hand the one partition to a single member.
        consumer = AIOKafkaConsumer(
            self._settings.scoped(OPS_CONTROL.name),
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=None,
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            async for message in consumer:
                await self._on_control(message.value or b"")
        finally:
            await consumer.stop()

    async def _on_control(self, raw: bytes) -> None:
        try:
            if _probe.decode(raw).kind != "request_resync":
                return
            request = _resync.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("ignoring malformed control message: %s", exc)
            return
        done = await self.ingestor.resync(request.symbol)
        log.info(
            "resync of %s requested (%s): %s",
            request.symbol,
            request.reason,
            "resubscribed" if done else "not ours or not connected",
        )

    async def _health(self, request: web.Request) -> web.Response:
        streams = self.ingestor.report_staleness()
        worst = max((_SEVERITY[str(s["status"])] for s in streams), default=0)
        status = [Freshness.OK, Freshness.DEGRADED, Freshness.CRITICAL][worst].value
        body = {
            "status": status,
            "produced": self.ingestor.produced,
            "produce_latency_ms": self.ingestor.produce_latency_ms(),
            "connections": self.ingestor.connection_report(),
            "streams": streams,
        }
        return web.json_response(body, status=200 if worst < 2 else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        self.ingestor.report_staleness()
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
