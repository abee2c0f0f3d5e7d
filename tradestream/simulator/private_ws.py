"""Serve Bybit's private WebSocket (``/v5/private``): ``auth``, then the account topics.

A client must authenticate (``{"op": "auth", "args": [apiKey, expires, signature]}``) before it
may subscribe; each subscribed topic then receives the venue's updates as Bybit frames
(``{"id", "topic", "creationTime", "data": [...]}``). ``ping`` is answered with ``pong``.
``drop_all`` closes every connection at once, for the private-WS-drop fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping

import orjson
from aiohttp import WSMsgType, web

from tradestream.core.clock import MsClock
from tradestream.simulator.signing import verify_ws_auth
from tradestream.simulator.venue import Venue
from tradestream.simulator.venue_orders import Wire

PATH = "/v5/private"
TOPICS = frozenset({"order", "execution", "position", "wallet"})


class _Session:
    """One private connection: whether it authenticated and what it subscribed to."""

    def __init__(
        self, conn_id: str, ws: web.WebSocketResponse, transport: asyncio.Transport | None
    ) -> None:
        self.conn_id = conn_id
        self.ws = ws
        self.transport = transport
        self.authed = False
        self.topics: set[str] = set()
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()


class PrivateStream:
    """Authenticate private connections and push the venue's updates to them."""

    def __init__(self, venue: Venue, secrets: Mapping[str, str], clock: MsClock) -> None:
        self._venue = venue
        self._secrets = secrets
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._ids = itertools.count(1)
        venue.listen(self._on_update)

    @property
    def connections(self) -> int:
        """Return how many private connections are open."""
        return len(self._sessions)

    def add_routes(self, app: web.Application) -> None:
        """Mount the private WebSocket."""
        app.router.add_get(PATH, self.handle)
        app.on_shutdown.append(self._shutdown)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one private connection until it closes."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(f"private-{next(self._ids)}", ws, request.transport)
        self._sessions[session.conn_id] = session
        writer = asyncio.create_task(_write(session), name=f"sim-{session.conn_id}")
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_op(session, message.data)
        finally:
            self._sessions.pop(session.conn_id, None)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def drop_all(self) -> int:
        """Cut every private connection without a close frame; return how many there were."""
        sessions = list(self._sessions.values())
        for session in sessions:
            if session.transport is not None:
                session.transport.abort()
        return len(sessions)

    def _on_op(self, session: _Session, text: str) -> None:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            request = {}
        op = request.get("op") if isinstance(request, dict) else None
        reply: Wire = {"success": True, "ret_msg": "", "op": op, "conn_id": session.conn_id}
        if isinstance(request, dict) and request.get("req_id"):
            reply["req_id"] = request["req_id"]
        if op == "auth":
            refusal = verify_ws_auth(request.get("args"), self._secrets, self._clock())
            session.authed = refusal is None
            reply |= {"success": session.authed, "ret_msg": refusal or ""}
        elif op == "subscribe":
            reply |= self._subscribe(session, request.get("args"))
        elif op == "ping":
            reply |= {"ret_msg": "pong"}
        else:
            reply |= {"success": False, "ret_msg": f"unknown op: {op}"}
        session.outbox.put_nowait(orjson.dumps(reply))

    def _subscribe(self, session: _Session, args: object) -> Wire:
        if not session.authed:
            return {"success": False, "ret_msg": "Request not authorized"}
        wanted = args if isinstance(args, list) else []
        unknown = [topic for topic in wanted if topic not in TOPICS]
        if unknown:
            return {"success": False, "ret_msg": f"error:handler not found,topic:{unknown[0]}"}
        session.topics.update(str(topic) for topic in wanted)
        return {}

    def _on_update(self, topic: str, rows: list[Wire]) -> None:
        now = self._clock()
        frame = orjson.dumps(
            {"id": f"{topic}-{now}", "topic": topic, "creationTime": now, "data": rows}
        )
        for session in self._sessions.values():
            if topic in session.topics:
                session.outbox.put_nowait(frame)

    async def _shutdown(self, app: web.Application) -> None:
        for session in list(self._sessions.values()):
            await session.ws.close(code=1001, message=b"server shutdown")


async def _write(session: _Session) -> None:
    # One writer per connection keeps frames in order without blocking the venue.
    while True:
        frame = await session.outbox.get()
        await session.ws.send_str(frame.decode())
