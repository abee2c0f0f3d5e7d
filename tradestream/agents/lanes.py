"""Keyed lanes: work for one key in order, work for different keys at the same time.

The execution agent waits on the exchange for every order (a REST round trip, 50-200 ms on
Bybit). Done one at a time, a worker places at most a handful of orders per second, whatever
the symbols. Orders of one symbol must stay in their order (a close after its entry), but the
orders of two symbols owe each other nothing: each symbol gets a lane, an asyncio task that runs
its work in order, and at most ``limit`` pieces of work are admitted at once across all lanes,
so a slow exchange pushes back on the agent's stream instead of piling up commands in memory.

Work finishes out of its stream's order; the agent acknowledges each event when its own work is
done, and Faust commits a partition only up to its first unacknowledged offset, so a crash
redelivers everything not finished (and the order gateway makes that harmless).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]


class KeyedLanes:
    """Run ``Work`` in order per key and concurrently across keys, ``limit`` at a time."""

    def __init__(self, limit: int, name: str = "lanes") -> None:
        if limit < 1:
            raise ValueError(f"{name}: limit must be at least 1, got {limit}")
        self._name = name
        self._slots = asyncio.Semaphore(limit)
        self._queues: dict[Hashable, asyncio.Queue[Work]] = {}
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._failure: BaseException | None = None

    @property
    def lanes(self) -> int:
        """Return how many keys have a lane."""
        return len(self._tasks)

    async def submit(self, key: Hashable, work: Work) -> None:
        """Queue ``work`` behind the work of ``key``; wait while ``limit`` pieces are admitted.

        Raise the exception that broke a lane earlier: work is expected to catch its own
        failures (the agents' error boundary), so one that escapes is a bug to stop on.
        """
        self._raise_failure()
        await self._slots.acquire()
        self._raise_failure()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._tasks[key] = asyncio.create_task(self._drain(queue), name=f"{self._name}:{key}")
        queue.put_nowait(work)

    async def idle(self) -> None:
        """Wait until every piece of work submitted so far has finished."""
        for queue in list(self._queues.values()):
            await queue.join()
        self._raise_failure()

    async def close(self) -> None:
        """Stop every lane; work not finished is abandoned (its event is not acknowledged)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def _drain(self, queue: asyncio.Queue[Work]) -> None:
        while True:
            work = await queue.get()
            try:
                await work()
            except Exception as exc:
                log.critical("%s: work escaped its error boundary: %r", self._name, exc)
                self._failure = self._failure or exc
            finally:
                self._slots.release()
                queue.task_done()
