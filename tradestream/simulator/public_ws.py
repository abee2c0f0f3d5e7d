"""Speak Bybit v5's public linear WebSocket protocol at ``/v5/public/linear``.

Client ops and the replies they get (shapes taken from captured linear traffic):

- ``{"op":"subscribe","args":[topics…],"req_id":"…"}`` → ``{"success":true,"ret_msg":"",
  "conn_id":"…","req_id":"…","op":"subscribe"}``, then a snapshot per book and ticker topic;
  a missing ``req_id`` is echoed as ``""``. A request with any unknown topic subscribes nothing
  and is refused with ``success:false`` and Bybit's message: ``Invalid symbol :[topic]`` for an
  unknown symbol, ``error:handler not found,topic:…`` for an unknown topic or an unserved depth,
  ``error:already subscribed,topic:…`` for a topic already held.
- ``unsubscribe`` mirrors ``subscribe`` (``ret_msg`` ``""``).
- ``{"op":"ping"}`` → ``{"success":true,"ret_msg":"pong","conn_id":"…","req_id":"…","op":"ping"}``.
- anything else → ``success:false`` with an ``error:`` message (shape assumed, not captured).

A connection that sends no ``ping`` op for ``idle_timeout_s`` is closed with a normal close
frame, like Bybit's 10-minute cut-off. Ops are answered at once unless ``op_latency_s`` asks for
a network-like delay.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tradestream.simulator.connection import Connection, SentLog, SentTotals
from tradestream.simulator.frames import op_reply
from tradestream.simulator.hub import MarketHub
from tradestream.simulator.market import Feed

PATH = "/v5/public/linear"
_ALPHABET = "0123456789abcdefghijklmnopqrstuv"


class PublicStream:
    """Handle public WebSocket connections for one simulator."""

    def __init__(
        self,
        hub: MarketHub,
        totals: SentTotals,
        *,
        idle_timeout_s: float,
        backlog_limit: int,
        slow_consumer_s: float = 30.0,
        op_latency_s: float = 0.0,
        top_refresh_s: float | None = None,
        keep_frames: bool = False,
        frame_log_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hub = hub
        self._totals = totals
        self._idle = idle_timeout_s
        self._latency = op_latency_s
        self._top_refresh = top_refresh_s
        self._backlog_limit = backlog_limit
        self._slow_consumer_s = slow_consumer_s
        self._keep = keep_frames
        self._log_dir = frame_log_dir
        self._clock = clock
        self._serial = count(1)

    def add_routes(self, app: web.Application) -> None:
        """Mount the public stream on its Bybit path."""
        app.router.add_get(PATH, self.handle)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one client until it leaves, is dropped, or goes idle."""
        ws = web.WebSocketResponse(compress=False, decode_text=False)
        await ws.prepare(request)
        conn_id = self._new_conn_id()
        log = SentLog(conn_id, self._totals, keep=self._keep, directory=self._log_dir)
        conn = Connection(
            conn_id,
            ws,
            request,
            log,
            backlog_limit=self._backlog_limit,
            slow_consumer_s=self._slow_consumer_s,
            clock=self._clock,
        )
        self._hub.open(conn)
        conn.start()
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    if self._latency:
                        await asyncio.sleep(self._latency)
                    self._on_request(conn, message.data)
        finally:
            self._hub.close(conn)
            await conn.wait_finished()
        return ws

    async def run_timers(self) -> None:
        """Run the stream's clocks (idle cut-off, quiet level-1 refresh) until cancelled."""
        timers = [self.sweep_idle()]
        if self._top_refresh is not None:
            timers.append(self.refresh_tops(self._top_refresh))
        await asyncio.gather(*timers)

    async def refresh_tops(self, quiet_s: float) -> None:
        """Re-send quiet depth-1 tops every ``quiet_s``; run until cancelled."""
        while True:
            await asyncio.sleep(min(1.0, quiet_s / 4))
            self._hub.refresh_quiet_tops(quiet_s)

    async def sweep_idle(self) -> None:
        """Close connections that stopped pinging; run until cancelled."""
        interval = min(5.0, self._idle / 4)
        while True:
            await asyncio.sleep(interval)
            deadline = self._clock() - self._idle
            idle = [c for c in self._hub.connections.values() if c.last_ping < deadline]
            await asyncio.gather(*(conn.close(b"idle timeout") for conn in idle))

    def _new_conn_id(self) -> str:
        # Shaped like Bybit's: 20 base32hex characters, a dash, a short serial.
        head = "".join(secrets.choice(_ALPHABET) for _ in range(20))
        return f"{head}-{next(self._serial):x}"

    def _on_request(self, conn: Connection, raw: bytes | str) -> None:
        try:
            request = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._reply(conn, False, "error:request is not valid JSON", "", "")
            return
        if not isinstance(request, dict):
            self._reply(conn, False, "error:request must be a JSON object", "", "")
            return
        op = str(request.get("op", ""))
        req_id = str(request.get("req_id", ""))
        if op == "ping":
            conn.last_ping = self._clock()
            self._reply(conn, True, "pong", req_id, op)
        elif op == "subscribe":
            self._subscribe(conn, request.get("args"), req_id)
        elif op == "unsubscribe":
            self._unsubscribe(conn, request.get("args"), req_id)
        else:
            self._reply(conn, False, f"error:unsupported op: {op}", req_id, op)

    def _subscribe(self, conn: Connection, args: Any, req_id: str) -> None:
        feeds = self._feeds(conn, args, req_id, "subscribe")
        if feeds is None:
            return
        refused = next((feed.topic for feed in feeds if feed.topic in conn.topics), None)
        if refused is not None:
            message = f"error:already subscribed,topic:{refused}"
            self._reply(conn, False, message, req_id, "subscribe")
            return
        self._reply(conn, True, "", req_id, "subscribe")
        for feed in feeds:
            self._hub.subscribe(conn, feed)

    def _unsubscribe(self, conn: Connection, args: Any, req_id: str) -> None:
        feeds = self._feeds(conn, args, req_id, "unsubscribe")
        if feeds is None:
            return
        for feed in feeds:
            self._hub.unsubscribe(conn, feed)
        self._reply(conn, True, "", req_id, "unsubscribe")

    def _feeds(self, conn: Connection, args: Any, req_id: str, op: str) -> list[Feed] | None:
        # Resolve every topic or refuse the whole request, as one ack answers one request.
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            self._reply(conn, False, "error:args must be a non-empty list of topics", req_id, op)
            return None
        resolved = [self._hub.resolve(topic) for topic in args]
        errors = [result for result in resolved if isinstance(result, str)]
        if errors:
            self._reply(conn, False, errors[0], req_id, op)
            return None
        return list(dict.fromkeys(feed for feed in resolved if isinstance(feed, Feed)))

    def _reply(self, conn: Connection, success: bool, ret_msg: str, req_id: str, op: str) -> None:
        frame = op_reply(
            success=success, ret_msg=ret_msg, conn_id=conn.conn_id, req_id=req_id, op=op
        )
        conn.send_control(f"op:{op or 'unknown'}", frame)
