"""Drive the simulator from tests: a real WebSocket client, a client-side book, waiting helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import aiohttp
import orjson

from tests.support.recordings import ALL_TOPICS
from tests.support.waiting import eventually as _eventually

T = TypeVar("T")

RECORDING = ALL_TOPICS
"""The recorded Bybit stream (all topics, 44 s, four symbols) the simulator tests replay."""

eventually = partial(_eventually, interval=0.005)
"""The shared condition-waiter, polling fast enough for a loopback server."""


def within(awaitable: Awaitable[T], timeout: float = 5.0) -> Awaitable[T]:
    """Await something, failing the test after ``timeout`` seconds."""
    return asyncio.wait_for(awaitable, timeout)


@dataclass
class ClientBook:
    """Rebuild one orderbook topic the way a downstream consumer does, noting every gap."""

    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)
    u: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)
    snapshots: int = 0
    crossed: int = 0
    deepest: int = 0

    def apply(self, message: dict[str, Any]) -> None:
        """Apply a snapshot or a delta; record a gap when ``u`` does not follow on."""
        data = message["data"]
        if message["type"] == "snapshot":
            self.snapshots += 1
            self.bids = {price: size for price, size in data["b"]}
            self.asks = {price: size for price, size in data["a"]}
        else:
            if self.u is not None and data["u"] != self.u + 1:
                self.gaps.append((self.u, data["u"]))
            for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
                for price, size in levels:
                    if Decimal(size) == 0:
                        side.pop(price, None)
                    else:
                        side[price] = size
        self.u = data["u"]
        self.deepest = max(self.deepest, len(self.bids), len(self.asks))
        if self.bids and self.asks and max(map(Decimal, self.bids)) >= min(map(Decimal, self.asks)):
            self.crossed += 1

    def top(self, depth: int) -> dict[str, list[list[str]]]:
        """Return the best ``depth`` levels per side, best first, as the admin API does."""
        bids = sorted(self.bids.items(), key=lambda level: -Decimal(level[0]))[:depth]
        asks = sorted(self.asks.items(), key=lambda level: Decimal(level[0]))[:depth]
        return {"bids": [list(level) for level in bids], "asks": [list(level) for level in asks]}


class Client:
    """Hold one real WebSocket connection to the simulator and everything it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.raw: list[bytes] = []
        self.messages: list[dict[str, Any]] = []
        self.broken: list[bytes] = []
        self.books: dict[str, ClientBook] = {}
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @property
    def conn_id(self) -> str:
        """Return the server's id for this connection, learnt from the first reply."""
        return str(next(m["conn_id"] for m in self.messages if "conn_id" in m))

    async def send(self, request: dict[str, Any]) -> None:
        """Send one op."""
        await self.ws.send_str(orjson.dumps(request).decode())

    async def request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one op and wait for the reply carrying its ``req_id``."""
        await self.send(request)
        req_id = request["req_id"]
        await eventually(lambda: self.reply(req_id) is not None)
        reply = self.reply(req_id)
        assert reply is not None
        return reply

    async def subscribe(self, *topics: str, req_id: str = "sub") -> dict[str, Any]:
        """Subscribe and return the ack."""
        return await self.request({"op": "subscribe", "args": list(topics), "req_id": req_id})

    def reply(self, req_id: str) -> dict[str, Any] | None:
        """Return the op reply with this ``req_id``, if it arrived."""
        return next((m for m in self.messages if "op" in m and m.get("req_id") == req_id), None)

    def on(self, topic: str) -> list[dict[str, Any]]:
        """Return the data messages received for a topic, in order."""
        return [m for m in self.messages if m.get("topic") == topic]

    def count(self, topic: str) -> int:
        """Count the data messages received for a topic."""
        return sum(1 for m in self.messages if m.get("topic") == topic)

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self.ws.close()
        await within(self._reader)

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            raw = message.data.encode() if isinstance(message.data, str) else message.data
            self.raw.append(raw)
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self.broken.append(raw)
                continue
            self.messages.append(parsed)
            topic = parsed.get("topic", "")
            if topic.startswith("orderbook."):
                self.books.setdefault(topic, ClientBook()).apply(parsed)
        self.close_code = self.ws.close_code
        self.closed.set()


async def admin(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    """Call the admin API and return the decoded JSON."""
    data = None if body is None else orjson.dumps(body)
    async with session.request(method, url, data=data) as response:
        return orjson.loads(await response.read())
