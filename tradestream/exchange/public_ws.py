"""Bybit v5 public WebSocket client that hands frames on unchanged, as bytes.

pybit's public stream rebuilds books in Python and passes deep copies (~80 µs a frame) and drops
the raw bytes; this client does nothing per frame but timestamp it and hand it over, so ingest can
store exactly what Bybit sent. It pings every 20 s, reconnects with capped exponential back-off
and jitter, resubscribes everything on reconnect, and resubscribes one topic on demand (a fresh
snapshot repairs a broken book).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import aiohttp
import orjson
from pydantic import BaseModel, PositiveFloat, PositiveInt

log = logging.getLogger(__name__)

FrameHandler = Callable[[bytes, int, str], Awaitable[None]]
"""Called with (raw frame bytes, receive time in ms, connection name) for every data frame."""
ControlHandler = Callable[[dict[str, object], str], None]

_MAX_SUBSCRIBE_CHARS = 20_000  # Bybit allows 21,000 characters of args per request


class PublicStreamConfig(BaseModel, frozen=True, extra="forbid"):
    """How one connection talks to Bybit's public stream."""

    url: str = "wss://stream.bybit.com/v5/public/linear"
    ping_interval_s: PositiveFloat = 20.0
    connect_timeout_s: PositiveFloat = 10.0
    backoff_initial_s: PositiveFloat = 0.5
    backoff_max_s: PositiveFloat = 30.0
    max_frame_bytes: PositiveInt = 8 * 1024 * 1024


def subscribe_batches(topics: Sequence[str], op: str = "subscribe") -> list[bytes]:
    """Split topics into subscribe requests that fit Bybit's size limit."""
    batches: list[list[str]] = [[]]
    size = 0
    for topic in topics:
        if size + len(topic) + 3 > _MAX_SUBSCRIBE_CHARS and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(topic)
        size += len(topic) + 3
    return [orjson.dumps({"op": op, "args": batch}) for batch in batches if batch]


class PublicStreamClient:
    """One WebSocket connection carrying a fixed set of topics."""

    def __init__(
        self,
        name: str,
        topics: Sequence[str],
        config: PublicStreamConfig,
        on_frame: FrameHandler,
        *,
        on_control: ControlHandler | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.topics = list(topics)
        self._config = config
        self._on_frame = on_frame
        self._on_control = on_control
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._ws: aiohttp.ClientWebSocketResponse[Literal[False]] | None = None
        self._stopping = False
        self.connects = 0
        self.connected = asyncio.Event()

    def next_delay(self, attempt: int) -> float:
        """Return the back-off before reconnect ``attempt`` (0-based): full jitter, capped."""
        ceiling = min(self._config.backoff_max_s, self._config.backoff_initial_s * 2**attempt)
        return self._rng.uniform(ceiling / 2, ceiling)

    async def run(self) -> None:
        """Stay connected until ``stop``; every disconnect is followed by a reconnect."""
        attempt = 0
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._config.connect_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping:
                started = time.monotonic()
                try:
                    await self._session(session)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("%s: connection failed: %s", self.name, exc)
                if self._stopping:
                    return
                attempt = 0 if time.monotonic() - started > 60 else attempt + 1
                delay = self.next_delay(attempt)
                log.info("%s: reconnecting in %.2fs", self.name, delay)
                await asyncio.sleep(delay)

    async def _session(self, session: aiohttp.ClientSession) -> None:
        # decode_text=False: text frames arrive as the bytes Kafka stores, never decoded to str
        # and encoded back; compress=0 (no permessage-deflate) is aiohttp's default.
        async with session.ws_connect(
            self._config.url,
            autoping=True,
            max_msg_size=self._config.max_frame_bytes,
            decode_text=False,
        ) as ws:
            self._ws = ws
            self.connects += 1
            for request in subscribe_batches(self.topics):
                await ws.send_bytes(request)
            self.connected.set()
            pinger = asyncio.create_task(self._ping(ws))
            try:
                await self._read(ws)
            finally:
                self.connected.clear()
                self._ws = None
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger

    async def _read(self, ws: aiohttp.ClientWebSocketResponse[Literal[False]]) -> None:
        on_frame = self._on_frame
        binary = aiohttp.WSMsgType.BINARY
        async for message in ws:
            recv_ms = time.time_ns() // 1_000_000
            if message.type is not aiohttp.WSMsgType.TEXT and message.type is not binary:
                break
            raw = message.data
            if raw.startswith(b'{"success"') or (b'"op":' in raw[:80] and b'"topic"' not in raw):
                self._control(raw)
                continue
            await on_frame(raw, recv_ms, self.name)
        log.warning("%s: connection closed (code %s)", self.name, ws.close_code)

    def _control(self, raw: bytes) -> None:
        try:
            reply = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if isinstance(reply, dict):
            if reply.get("success") is False:
                log.error("%s: request refused: %s", self.name, reply.get("ret_msg"))
            if self._on_control is not None:
                self._on_control(reply, self.name)

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse[Literal[False]]) -> None:
        counter = itertools.count(1)
        while not ws.closed:
            await asyncio.sleep(self._config.ping_interval_s)
            request = {"op": "ping", "req_id": f"{self.name}-{next(counter)}"}
            await ws.send_bytes(orjson.dumps(request))

    async def resubscribe(self, topics: Sequence[str]) -> bool:
        """Unsubscribe and subscribe again so the exchange sends fresh snapshots."""
        ws = self._ws
        if ws is None or ws.closed:
            return False  # the reconnect will subscribe everything afresh anyway
        for request in subscribe_batches(topics, op="unsubscribe"):
            await ws.send_bytes(request)
        for request in subscribe_batches(topics):
            await ws.send_bytes(request)
        return True

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()
