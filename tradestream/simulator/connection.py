"""Send one client's frames in order, apply the faults armed on it, and log what went out.

Each WebSocket connection owns a queue and a writer task. The market fans a frame out by
appending it to every subscriber's queue (no copy: the same ``bytes`` object), and the writer
sends it with one ``send_frame`` call as a text frame, as Bybit does. Queues give per-connection
faults (stall, slow) somewhere to act without slowing other clients, and their length is the
back-pressure signal that keeps a flat-out source from outrunning the sockets.

Everything actually written is counted per topic in ``SentLog`` (and optionally kept in memory
or written to ``<frame_log_dir>/<conn_id>.ndjson``, one frame per line, byte for byte), so tests
can reconcile what a client received with what the server sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import IO

from aiohttp import WSMsgType, web

from tradestream.simulator.faults import FaultKind, Rule

YIELD_EVERY = 256
"""Frames a writer sends back to back before letting other tasks run."""


class FrameKind(IntEnum):
    """Say how faults treat a frame."""

    CONTROL = 0
    """Acks and pongs: never faulted."""
    DATA = 1
    DELTA = 2
    """An orderbook delta: the only frame a ``gap`` withholds."""


class SentTotals:
    """Count frames and bytes sent by every connection, for progress reports."""

    __slots__ = ("bytes", "frames")

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0


class SentLog:
    """Record what one connection sent: counts per topic, optionally the frames themselves."""

    def __init__(
        self, conn_id: str, totals: SentTotals, *, keep: bool, directory: Path | None
    ) -> None:
        self.frames = 0
        self.bytes = 0
        self.by_topic: Counter[str] = Counter()
        self.withheld: Counter[str] = Counter()
        self.kept: list[bytes] | None = [] if keep else None
        self._totals = totals
        self._file: IO[bytes] | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._file = (directory / f"{conn_id}.ndjson").open("ab")

    def record(self, topic: str, frame: bytes) -> None:
        """Count one frame that reached the socket."""
        self.frames += 1
        self.bytes += len(frame)
        self._totals.frames += 1
        self._totals.bytes += len(frame)
        self.by_topic[topic] += 1
        if self.kept is not None:
            self.kept.append(frame)
        if self._file is not None:
            self._file.write(frame + b"\n")

    def close(self) -> None:
        """Flush and close the frame file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None


class Connection:
    """Queue, fault and send the frames of one client connection."""

    def __init__(
        self,
        conn_id: str,
        ws: web.WebSocketResponse,
        request: web.Request,
        log: SentLog,
        *,
        backlog_limit: int,
        slow_consumer_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conn_id = conn_id
        self.remote = request.remote or ""
        self.log = log
        self.topics: set[str] = set()
        self.opened_at = time.time()
        self.closed_at: float | None = None
        self.last_ping = clock()
        self._ws = ws
        self._transport = request.transport
        self._limit = backlog_limit
        self._slow_consumer_s = slow_consumer_s
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._rules: list[Rule] = []
        self._held: dict[str, list[tuple[str, bytes, FrameKind]]] = {}
        self._writer: asyncio.Task[None] | None = None

    @property
    def backlog(self) -> int:
        """Return how many frames wait to be written."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        """Tell whether the connection has ended."""
        return self.closed_at is not None

    def start(self) -> None:
        """Start the writer task."""
        self._writer = asyncio.create_task(self._write(), name=f"sim-writer-{self.conn_id}")

    def push(self, topic: str, frame: bytes, kind: FrameKind) -> None:
        """Queue a market frame, unless an armed fault says otherwise."""
        if self._rules:
            self._push_faulted(topic, frame, kind)
            return
        self._queue.append((topic, frame))
        if not self._wake.is_set():
            self._wake.set()

    def send_control(self, topic: str, frame: bytes) -> None:
        """Queue a reply (ack, pong, error) or an injected frame, bypassing every fault."""
        self._queue.append((topic, frame))
        self._wake.set()

    async def room(self) -> None:
        """Wait until the backlog is short enough for the source to go on.

        A client that reads nothing for ``slow_consumer_s`` is cut off, as Bybit cuts consumers
        that cannot keep up, so one stuck client cannot hold every other one up. A connection
        under a ``slow`` or ``stall`` fault is left to fall behind on purpose; it is cut off once
        it holds a hundred times the limit.
        """
        if len(self._queue) < self._limit or self.closed:
            return
        if any(rule.kind in (FaultKind.SLOW, FaultKind.STALL) for rule in self._rules):
            if len(self._queue) > self._limit * 100:
                self.abort()
            return
        self._room.clear()
        try:
            await asyncio.wait_for(self._room.wait(), self._slow_consumer_s)
        except TimeoutError:
            self.abort()

    def arm(self, rule: Rule) -> None:
        """Arm a fault rule on this connection."""
        self._rules.append(rule)

    def disarm(self, kind: FaultKind | None, symbol: str | None) -> None:
        """Remove matching rules and release frames that are no longer stalled."""
        self._rules = [rule for rule in self._rules if not rule.covers(kind, symbol)]
        for held_symbol in list(self._held):
            if not self._stalled(held_symbol):
                for topic, frame, frame_kind in self._held.pop(held_symbol):
                    self.push(topic, frame, frame_kind)

    def rules(self) -> list[dict[str, object]]:
        """Describe the armed rules."""
        return [rule.as_dict() for rule in self._rules]

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, like a network failure."""
        if self._transport is not None:
            self._transport.abort()
        self._room.set()

    async def close(self, message: bytes) -> None:
        """Close with a normal close frame (idle cut-off, shutdown)."""
        await self._ws.close(code=1000, message=message)

    def finish(self) -> None:
        """Stop the writer and close the frame log once the socket is gone."""
        self.closed_at = time.time()
        self._room.set()
        if self._writer is not None:
            self._writer.cancel()
        self.log.close()

    async def wait_finished(self) -> None:
        """Wait for the writer task to end."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    def stats(self) -> dict[str, object]:
        """Describe the connection and its sent log for the admin API."""
        return {
            "conn_id": self.conn_id,
            "remote": self.remote,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "topics": sorted(self.topics),
            "frames_sent": self.log.frames,
            "bytes_sent": self.log.bytes,
            "frames_by_topic": dict(self.log.by_topic),
            "withheld_by_topic": dict(self.log.withheld),
            "held": sum(len(frames) for frames in self._held.values()),
            "backlog": len(self._queue),
            "faults": self.rules(),
        }

    def _push_faulted(self, topic: str, frame: bytes, kind: FrameKind) -> None:
        symbol = topic.rpartition(".")[2]
        copies = 1
        for rule in self._rules:
            if not rule.matches(symbol) or rule.kind is FaultKind.SLOW:
                continue
            if rule.kind is FaultKind.STALL:
                self._held.setdefault(symbol, []).append((topic, frame, kind))
                return
            if rule.kind is FaultKind.GAP and kind is FrameKind.DELTA:
                self._consume(rule)
                self.log.withheld[topic] += 1
                return
            if rule.kind is FaultKind.DUPLICATE and copies == 1:
                self._consume(rule)
                copies = 2
        for _ in range(copies):
            self._queue.append((topic, frame))
        self._wake.set()

    def _consume(self, rule: Rule) -> None:
        if rule.remaining is None:
            return
        rule.remaining -= 1
        if rule.remaining <= 0:
            self._rules.remove(rule)

    def _stalled(self, symbol: str) -> bool:
        return any(rule.kind is FaultKind.STALL and rule.matches(symbol) for rule in self._rules)

    def _delay(self, topic: str) -> float:
        symbol = topic.rpartition(".")[2]
        return sum(
            rule.delay_s
            for rule in self._rules
            if rule.kind is FaultKind.SLOW and rule.matches(symbol)
        )

    async def _write(self) -> None:
        queue = self._queue
        send = self._ws.send_frame
        sent = 0
        try:
            while True:
                if not queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                topic, frame = queue.popleft()
                if self._rules and (delay := self._delay(topic)) > 0:
                    await asyncio.sleep(delay)
                await send(frame, WSMsgType.TEXT)
                self.log.record(topic, frame)
                sent += 1
                if len(queue) <= self._limit // 2 and not self._room.is_set():
                    self._room.set()
                if sent % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        except ConnectionError:
            self.abort()
