"""Pace a source against the wall clock, pause it on request, and let the event loop breathe.

A source asks ``Throttle.until(virtual_ms)`` before emitting a frame stamped at ``virtual_ms``
(recording time). At speed 1 that waits until the same offset has passed on the wall clock, at
speed N until 1/N of it has, and at speed 0 it never waits but still yields to the event loop
every ``batch`` frames so that sockets drain and admin requests get answered. Time spent paused
is added to the schedule instead of being caught up in a burst.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

YIELD_EVERY = 128
"""Frames emitted between forced yields to the event loop when running flat out."""


class Throttle:
    """Gate, pace and batch one source's emissions."""

    def __init__(
        self,
        speed: float,
        flow: Callable[[], Awaitable[None]],
        *,
        batch: int = YIELD_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._speed = speed
        self._flow = flow
        self._batch = batch
        self._clock = clock
        self._running = asyncio.Event()
        self._running.set()
        self._paused_at: float | None = None
        self._origin: tuple[float, int] | None = None
        self._count = 0

    @property
    def paused(self) -> bool:
        """Tell whether the source is held."""
        return not self._running.is_set()

    def pause(self) -> None:
        """Hold the source before its next frame."""
        if self._running.is_set():
            self._running.clear()
            self._paused_at = self._clock()

    def resume(self) -> None:
        """Release the source, shifting the schedule by the time spent paused."""
        if self._running.is_set():
            return
        if self._origin is not None and self._paused_at is not None:
            wall, virtual = self._origin
            self._origin = (wall + self._clock() - self._paused_at, virtual)
        self._paused_at = None
        self._running.set()

    async def until(self, virtual_ms: int) -> None:
        """Wait until the frame stamped ``virtual_ms`` is due, or the batch needs a yield."""
        if not self._running.is_set():
            await self._running.wait()
        self._count += 1
        delay = self._delay(virtual_ms)
        if delay > 0.001:
            await asyncio.sleep(delay)
            await self._flow()
        elif self._count % self._batch == 0:
            await asyncio.sleep(0)
            await self._flow()

    def _delay(self, virtual_ms: int) -> float:
        if self._speed <= 0:
            return 0.0
        now = self._clock()
        if self._origin is None:
            self._origin = (now, virtual_ms)
            return 0.0
        wall, virtual = self._origin
        return wall + (virtual_ms - virtual) / 1000.0 / self._speed - now
