"""Notice a Faust worker that holds partitions with input waiting and no longer feeds its agents.

Until session 8, some runs of the SIGKILL crash test ended with a restarted trading worker that
took its partitions, recovered its tables, said ready, processed part of its backlog and then
never committed one partition again: no error, no log line, the input waiting, the agent idle
(faust-streaming #175, #523 report the like). The cause found was Faust's fetch loop dropping
the records that the seek ending recovery fetched again (``streams/commit_safety.py``, flaw 5,
patched since). The group believes such a partition owned, so no other worker takes it over and
trading on its symbols stops silently; the worker still watches itself, for any other way in:

- every ``stall_check_interval_s`` it compares, per assigned input partition (not changelogs),
  the broker's end offset, the consumer's fetch position, the last offset handed to the agents
  and the last committed one;
- a partition waits when the broker has records the fetcher does not fetch, or when fetched
  records are not committed while no agent is handling an event (``busy()``: an agent retrying
  Redis or PostgreSQL is busy, not stalled);
- a partition that waits with none of those offsets moving for ``stall_exit_after_s`` is
  stalled: the worker logs where every task waits (``agents/diagnostics.py``) and exits with
  ``STALL_EXIT_CODE``, for its supervisor (systemd, Docker, Kubernetes) to start it again.
  Exiting is as safe as the SIGKILL the crash test deals out: inputs are committed only after
  their effects, and every effect is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tradestream.agents import diagnostics

log = logging.getLogger(__name__)

STALL_EXIT_CODE = 70
"""The worker's exit status when it stopped itself on a stall (EX_SOFTWARE)."""

_in_progress = 0


@asynccontextmanager
async def busy() -> AsyncIterator[None]:
    """Mark an agent as handling an event (or a batch) for as long as the block runs."""
    global _in_progress  # noqa: PLW0603 - one counter per worker process, on its event loop
    _in_progress += 1
    try:
        yield
    finally:
        _in_progress -= 1


def agents_busy() -> bool:
    """Tell whether any agent is handling an event now."""
    return _in_progress > 0


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """Where one input partition stands: at the broker, in the fetcher, in the agents."""

    highwater: int | None  # the broker's end offset (next offset to be written)
    position: int | None  # the next offset the fetcher will fetch
    handed: int | None  # Faust's read offset (for the report only)
    committed: int | None  # the next offset to read after a restart

    def waiting(self, *, busy: bool) -> bool:
        """Tell whether input waits for this worker to do something it is not doing.

        Only the broker end, the fetch position and the committed offset decide (all three are
        "next offset" values); Faust's read offset is reported but not used, since it is the
        last offset handed out while streaming and the next one right after an assignment.
        """
        end, position = self.highwater, self.position
        if end is None or position is None:
            return False  # not known yet
        if end > position:
            return True  # at the broker, not fetched
        if busy:
            return False  # an agent is on it (or retrying Redis or PostgreSQL)
        return end > (self.committed or 0)  # fetched, not committed, no agent at work


class StallWatch:
    """Say which partitions have waited without any progress for ``stall_after_s``."""

    def __init__(self, stall_after_s: float) -> None:
        self.stall_after_s = stall_after_s
        self._since: dict[str, tuple[PartitionProgress, float]] = {}

    def observe(
        self, progress: Mapping[str, PartitionProgress], *, busy: bool, now: float
    ) -> list[str]:
        """Record one look at every partition; return those stalled for long enough."""
        stalled = []
        for name, seen in progress.items():
            if not seen.waiting(busy=busy):
                self._since.pop(name, None)
                continue
            before = self._since.get(name)
            if before is None or before[0] != seen:
                self._since[name] = (seen, now)
            elif now - before[1] >= self.stall_after_s:
                stalled.append(name)
        for name in set(self._since) - set(progress):
            del self._since[name]  # revoked
        return stalled


def _is_input(topic: str) -> bool:
    return not topic.endswith("-changelog") and "__assignor-__leader" not in topic


async def partition_progress(app: Any) -> dict[str, PartitionProgress]:
    """Read every assigned input partition's offsets from the Faust consumer."""
    consumer = app.consumer
    tps = [tp for tp in consumer.assignment() if _is_input(tp.topic)]
    if not tps:
        return {}
    ends = await consumer.highwaters(*tps)
    progress = {}
    for tp in tps:
        progress[f"{tp.topic}[{tp.partition}]"] = PartitionProgress(
            highwater=ends.get(tp),
            position=await consumer.position(tp),
            handed=consumer._read_offset[tp],
            committed=consumer._committed_offset[tp],
        )
    return progress


async def watch(app: Any, *, interval_s: float, stall_after_s: float) -> None:
    """Look every ``interval_s``; exit the process when a partition stalled (see module doc)."""
    stalls = StallWatch(stall_after_s)
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval_s)
        if app.rebalancing or app.in_recovery:
            continue
        progress = await partition_progress(app)
        stalled = stalls.observe(progress, busy=agents_busy(), now=loop.time())
        if stalled:
            log.critical(
                "input waits on %s with no progress for %.0fs: exiting for a restart\n%s",
                ", ".join(stalled),
                stall_after_s,
                diagnostics.report(app, loop),
            )
            logging.shutdown()
            os._exit(STALL_EXIT_CODE)
