"""Run the local Bybit v5 stand-in: one aiohttp app with the public stream and the admin API.

The app is built from parts that each add their routes (``PublicStream`` at
``/v5/public/linear``, ``Admin`` under ``/admin``, ``ExchangeSide`` for REST and the private
stream), so each side grows without touching the others. One event loop runs everything: the
source task feeds the ``MarketHub``, which queues frames on each connection's writer.

    async with BybitSimulator(config) as sim:
        ...  # connect to sim.url; inspect sim.admin_url
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from tradestream.core.errors import HaltError
from tradestream.simulator.admin import Admin
from tradestream.simulator.config import SimulatorConfig
from tradestream.simulator.connection import Connection, SentTotals
from tradestream.simulator.exchange_side import ExchangeSide
from tradestream.simulator.hub import MarketHub
from tradestream.simulator.injector import FaultInjector
from tradestream.simulator.pacing import Throttle
from tradestream.simulator.private_ws import PATH as PRIVATE_PATH
from tradestream.simulator.public_ws import PATH, PublicStream
from tradestream.simulator.sources import Source, build_source

logger = logging.getLogger(__name__)

CLOSE_GRACE_S = 1.0
"""How long a client gets to answer the close frame at shutdown before it is cut off."""


@dataclass(slots=True)
class _Running:
    runner: web.AppRunner
    port: int
    source: Source
    hub: MarketHub
    injector: FaultInjector
    throttle: Throttle
    totals: SentTotals
    source_task: asyncio.Task[None]
    sweeper: asyncio.Task[None]


class BybitSimulator:
    """Serve Bybit's public linear WebSocket from a recording or a generator, with faults."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._running: _Running | None = None
        self._exchange: ExchangeSide | None = None

    async def __aenter__(self) -> BybitSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """Return the TCP port actually bound (useful with port 0)."""
        return self._state.port

    @property
    def url(self) -> str:
        """Return the public linear WebSocket URL."""
        return f"ws://{self._host}:{self.port}{PATH}"

    @property
    def rest_url(self) -> str:
        """Return the base URL of the Bybit REST API (pybit's ``HTTP.endpoint``)."""
        return f"http://{self._host}:{self.port}"

    @property
    def private_url(self) -> str:
        """Return the private WebSocket URL (``BybitConfig.private_ws_url``)."""
        return f"ws://{self._host}:{self.port}{PRIVATE_PATH}"

    @property
    def exchange(self) -> ExchangeSide:
        """Return the exchange side (venue, faults), for in-process inspection."""
        if self._exchange is None:
            raise HaltError("the simulator is not running; call start() first")
        return self._exchange

    @property
    def admin_url(self) -> str:
        """Return the admin API base URL."""
        return f"http://{self._host}:{self.port}/admin"

    @property
    def hub(self) -> MarketHub:
        """Return the market state, for in-process inspection."""
        return self._state.hub

    @property
    def injector(self) -> FaultInjector:
        """Return the fault injector, for in-process control."""
        return self._state.injector

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols served."""
        return self._state.source.symbols

    async def start(self) -> None:
        """Load the source, bind the port and start streaming (unless configured paused)."""
        if self._running is not None:
            return
        config = self.config
        source, speed = await asyncio.to_thread(build_source, config.source)
        hub = MarketHub(source.symbols, source.native_depth)
        totals = SentTotals()
        stream = PublicStream(
            hub,
            totals,
            idle_timeout_s=config.idle_timeout_s,
            op_latency_s=config.op_latency_ms / 1000.0,
            backlog_limit=config.backlog_limit,
            slow_consumer_s=config.slow_consumer_s,
            top_refresh_s=config.top_refresh_s,
            keep_frames=config.keep_frames,
            frame_log_dir=config.frame_log_dir,
        )
        injector = FaultInjector(hub)
        throttle = Throttle(speed, hub.flow)
        if config.start_paused:
            throttle.pause()
        app = web.Application()
        stream.add_routes(app)
        Admin(hub, injector, self).add_routes(app)
        self._exchange = ExchangeSide(hub, config.exchange)
        self._exchange.add_routes(app)
        runner, port = await _serve(app, config.host, config.port)
        self._running = _Running(
            runner=runner,
            port=port,
            source=source,
            hub=hub,
            injector=injector,
            throttle=throttle,
            totals=totals,
            source_task=asyncio.create_task(source.run(hub, throttle), name="sim-source"),
            sweeper=asyncio.create_task(stream.run_timers(), name="sim-stream-timers"),
        )
        for spec in config.faults:
            injector.apply(spec)

    async def stop(self) -> None:
        """Stop the source, close every connection and release the port."""
        state = self._running
        if state is None:
            return
        self._running = None
        for task in (state.source_task, state.sweeper):
            task.cancel()
        await asyncio.gather(state.source_task, state.sweeper, return_exceptions=True)
        await state.injector.stop()
        await asyncio.gather(
            *(_close(conn) for conn in list(state.hub.connections.values())),
            return_exceptions=True,
        )
        await state.runner.cleanup()

    def pause(self) -> None:
        """Hold the source before its next frame."""
        self._state.throttle.pause()

    def resume(self) -> None:
        """Release the source."""
        self._state.throttle.resume()

    async def source_done(self) -> None:
        """Wait until a finite source has emitted everything; re-raise if it failed."""
        await asyncio.shield(self._state.source_task)

    def sent_totals(self) -> tuple[int, int]:
        """Return frames and bytes sent over all connections so far."""
        totals = self._state.totals
        return totals.frames, totals.bytes

    def stats(self) -> dict[str, object]:
        """Describe the source, the totals and every connection (closed ones too)."""
        state = self._state
        task = state.source_task
        error = task.exception() if task.done() and not task.cancelled() else None
        return {
            "url": self.url,
            "source": {
                "kind": self.config.source.kind,
                "symbols": list(state.source.symbols),
                "depth": state.source.native_depth,
                "paused": state.throttle.paused,
                "done": task.done(),
                "error": repr(error) if error is not None else None,
                "produced": dict(state.hub.produced),
            },
            "totals": {
                "frames_sent": state.totals.frames,
                "bytes_sent": state.totals.bytes,
                "connections_open": len(state.hub.connections),
            },
            "connections": [conn.stats() for conn in state.hub.connections.values()],
            "closed_connections": [conn.stats() for conn in state.hub.closed],
        }

    @property
    def _host(self) -> str:
        return self.config.host

    @property
    def _state(self) -> _Running:
        if self._running is None:
            raise HaltError("the simulator is not running; call start() first")
        return self._running


async def _serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, int(bound)


async def _close(conn: Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(b"server shutdown"), CLOSE_GRACE_S)
    except (TimeoutError, ConnectionError):
        conn.abort()
    with contextlib.suppress(asyncio.CancelledError):
        await conn.wait_finished()
