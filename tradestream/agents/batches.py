"""Batches of a stream's events, each acknowledged only once its batch is landed.

The trading-records sink used Faust's ``Stream.take_events``. In the split crash test a
positions worker then stopped with an event of ``exec.reports`` read but never acknowledged
(read to 157, committed at 19) while the sink sat idle in ``take_events``, until the stall
watch restarted it. ``take_events`` pairs each value with ``Stream.current_event`` as the
stream's passive drainer hands it over, which a sink cannot check. Here the agent reads its
stream with acks off and keeps the event objects themselves: a batch is whatever arrived while
the previous one was being landed (a busy sink writes larger batches, an idle one writes at
once), and every event of a batch is acknowledged after ``land`` returned. Faust commits a
partition only up to its first unacknowledged offset, so a crash at any point redelivers what
was not landed, and the sink's upserts make that harmless. (Records that went missing from
PostgreSQL after a positions-worker restart had another cause: Faust acknowledged events its
streams skipped during a rebalance, see ``streams/commit_safety.py``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Land = Callable[[list[Any]], Awaitable[None]]
Ack = Callable[[Any], Awaitable[Any]]


class AckedBatches:
    """Gather events; land them in batches of at most ``max_size``; acknowledge what landed."""

    def __init__(self, land: Land, ack: Ack, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("a batch holds at least one event")
        self._land = land
        self._ack = ack
        self._max = max_size
        self._pending: list[Any] = []
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._lander: asyncio.Task[None] | None = None

    async def add(self, event: Any) -> None:
        """Queue ``event``; wait while a full batch is already waiting (back-pressure).

        Raise what stopped the lander, if it stopped: nothing queued after that would land.
        """
        self._check_lander()
        while len(self._pending) >= self._max:
            self._room.clear()
            await self._room.wait()
            self._check_lander()
        self._pending.append(event)
        self._arrived.set()

    def start(self) -> None:
        """Start landing in a task of its own."""
        self._lander = asyncio.create_task(self._run(), name="acked-batches")

    async def stop(self) -> None:
        """Stop landing; events queued and not landed stay unacknowledged (redelivered)."""
        if self._lander is not None:
            self._lander.cancel()
            await asyncio.gather(self._lander, return_exceptions=True)

    def _check_lander(self) -> None:
        lander = self._lander
        if lander is None:
            raise RuntimeError("AckedBatches.start() was not called")
        if lander.done() and not lander.cancelled() and lander.exception() is not None:
            raise RuntimeError("landing batches failed") from lander.exception()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            if not self._pending:
                self._arrived.clear()
            self._room.set()
            try:
                await self._land(batch)
            finally:
                self._room.set()  # wake a waiting add(), to see this task's fate
            for event in batch:
                await self._ack(event)
