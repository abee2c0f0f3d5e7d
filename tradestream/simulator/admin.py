"""Expose the simulator's controls and evidence over HTTP, next to the WebSocket.

Endpoints (JSON in and out):

- ``GET /admin/stats`` — source progress, totals, and per connection the frames sent per topic
  (op replies count as ``op:<op>``, injected broken frames as ``fault:<kind>``), the frames
  withheld by faults, backlog and armed faults (closed connections included).
- ``GET /admin/book/{symbol}?depth=N`` — the server's own book, top N levels, as strings.
- ``GET /admin/connections/{conn_id}/frames?offset=0&limit=1000`` — the frames sent, in order
  (needs ``keep_frames``).
- ``GET /admin/faults`` / ``POST /admin/faults`` (a ``FaultSpec``) / ``DELETE /admin/faults``
  (optional query ``fault``, ``symbol``, ``conn_id``) — inspect, inject, clear.
- ``POST /admin/source/pause`` / ``POST /admin/source/resume`` — hold and release the source.
"""

from __future__ import annotations

from typing import Protocol

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError

from tradestream.core.errors import BadInputError
from tradestream.simulator.faults import FaultKind, FaultSpec
from tradestream.simulator.hub import MarketHub
from tradestream.simulator.injector import FaultInjector

PREFIX = "/admin"


class Control(Protocol):
    """Let the admin API drive and inspect the simulator that owns it."""

    def stats(self) -> dict[str, object]:
        """Describe the source, the totals and every connection."""

    def pause(self) -> None:
        """Hold the source."""

    def resume(self) -> None:
        """Release the source."""


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Refuse bad admin input with a JSON reason instead of a 500.
    try:
        return await handler(request)
    except (BadInputError, ValidationError, orjson.JSONDecodeError, ValueError) as exc:
        return _json({"error": str(exc)}, status=400)


class Admin:
    """Serve the admin endpoints of one simulator."""

    def __init__(self, hub: MarketHub, injector: FaultInjector, control: Control) -> None:
        self._hub = hub
        self._injector = injector
        self._control = control

    def add_routes(self, app: web.Application) -> None:
        """Mount the admin endpoints under ``/admin``."""
        app.middlewares.append(_errors)
        app.router.add_get(f"{PREFIX}/stats", self.stats)
        app.router.add_get(f"{PREFIX}/book/{{symbol}}", self.book)
        app.router.add_get(f"{PREFIX}/connections/{{conn_id}}/frames", self.frames)
        app.router.add_get(f"{PREFIX}/faults", self.faults)
        app.router.add_post(f"{PREFIX}/faults", self.inject)
        app.router.add_delete(f"{PREFIX}/faults", self.clear)
        app.router.add_post(f"{PREFIX}/source/pause", self.pause)
        app.router.add_post(f"{PREFIX}/source/resume", self.resume)

    async def stats(self, request: web.Request) -> web.Response:
        """Return source progress, totals and per-connection sent logs."""
        return _json(self._control.stats())

    async def book(self, request: web.Request) -> web.Response:
        """Return the server's book for a symbol, capped to ``depth`` (default: deepest)."""
        depth = int(request.query.get("depth", self._hub.native_depth))
        if depth < 1:
            raise BadInputError("depth must be positive")
        view = self._hub.book_view(request.match_info["symbol"], depth)
        if view is None:
            return _json({"error": "unknown symbol"}, status=404)
        return _json(view)

    async def frames(self, request: web.Request) -> web.Response:
        """Return the frames one connection was sent, from ``offset``, at most ``limit``."""
        conn_id = request.match_info["conn_id"]
        conn = self._hub.connections.get(conn_id) or next(
            (closed for closed in self._hub.closed if closed.conn_id == conn_id), None
        )
        if conn is None:
            return _json({"error": "unknown connection"}, status=404)
        if conn.log.kept is None:
            raise BadInputError("frames are not kept; start the simulator with keep_frames")
        offset = int(request.query.get("offset", 0))
        limit = int(request.query.get("limit", 1000))
        kept = conn.log.kept[offset : offset + limit]
        return _json(
            {
                "conn_id": conn_id,
                "offset": offset,
                "total": len(conn.log.kept),
                "frames": [frame.decode("utf-8", "replace") for frame in kept],
            }
        )

    async def faults(self, request: web.Request) -> web.Response:
        """List standing, scheduled and armed faults."""
        return _json(self._injector.describe())

    async def inject(self, request: web.Request) -> web.Response:
        """Inject (or schedule) the fault in the body."""
        spec = FaultSpec.model_validate_json(await request.read())
        return _json(self._injector.apply(spec))

    async def clear(self, request: web.Request) -> web.Response:
        """Clear faults matching the query (all when empty)."""
        query = request.query
        kind = FaultKind(query["fault"]) if "fault" in query else None
        removed = self._injector.clear(kind, query.get("symbol"), query.get("conn_id"))
        return _json({"cleared": removed})

    async def pause(self, request: web.Request) -> web.Response:
        """Hold the source."""
        self._control.pause()
        return _json({"paused": True})

    async def resume(self, request: web.Request) -> web.Response:
        """Release the source."""
        self._control.resume()
        return _json({"paused": False})
