"""The simulator's exchange side as one part: REST, private WebSocket, admin, matching loop.

``BybitSimulator`` adds it next to the public stream; it trades against the public side's own
books (``MarketHub.markets[symbol].book``), so fills agree with what the simulator streams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from tradestream.core.clock import MsClock, now_ms
from tradestream.simulator.exchange_config import ExchangeSideConfig
from tradestream.simulator.exchange_faults import ExchangeAdmin, ExchangeFaults
from tradestream.simulator.hub import MarketHub
from tradestream.simulator.klines import KlineRest
from tradestream.simulator.private_ws import PrivateStream
from tradestream.simulator.rest import RestApi
from tradestream.simulator.rest_handlers import RestHandlers
from tradestream.simulator.venue import Venue


class ExchangeSide:
    """Serve Bybit's private REST and WebSocket for one simulated account."""

    def __init__(self, hub: MarketHub, config: ExchangeSideConfig, clock: MsClock = now_ms) -> None:
        self.config = config
        books = {symbol: market.book for symbol, market in hub.markets.items()}
        self.venue = Venue(books, clock, config.initial_balance, config.engine)
        self.faults = ExchangeFaults()
        secrets = config.secrets()
        self.private = PrivateStream(self.venue, secrets, clock)
        handlers = RestHandlers(self.venue, config, list(hub.markets)).table()
        handlers |= KlineRest(hub.klines).table()
        self.rest = RestApi(handlers, self.faults, secrets, config.rate_limits, clock)
        self._admin = ExchangeAdmin(self.venue, self.faults, self.private.drop_all)

    def add_routes(self, app: web.Application) -> None:
        """Mount REST, the private WebSocket and the exchange admin; run the matching loop."""
        self.rest.add_routes(app)
        self.private.add_routes(app)
        self._admin.add_routes(app)
        app.cleanup_ctx.append(self._matching)

    async def _matching(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self._match_forever(), name="sim-matching")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _match_forever(self) -> None:
        while True:
            self.venue.on_market()
            await asyncio.sleep(self.config.match_interval_s)
