"""``GET /diagnostics/``: where each agent waits and what Faust holds per partition.

A worker that stops making progress without an error (a stream no longer fed, an agent awaiting
something that never comes) shows nothing in its log; Faust's own ``SIGUSR1`` dump stops at the
agent's actor and hides the agent's own coroutine. This one follows each task's await chain to
the bottom (through async generators too) and lists, per assigned partition, whether Faust
fetches it, has paused it, and how far it has read and committed.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
from types import CoroutineType
from typing import Any

from tradestream.streams.commit_safety import settled

log = logging.getLogger(__name__)

_MAX_DEPTH = 40
_SHOWN = 8


def _inner(awaited: Any) -> Any:
    """Return what ``awaited`` waits on: a coroutine, an async generator, or a task's coroutine.

    ``async_generator_asend`` and a future's iterator expose no attribute for it; the object they
    hold is their one referent that is a generator or a future.
    """
    inner = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    if inner is not None or hasattr(awaited, "cr_frame") or hasattr(awaited, "ag_frame"):
        return inner
    for referent in gc.get_referents(awaited):
        if isinstance(referent, asyncio.Task):
            return referent.get_coro()
        if hasattr(referent, "ag_frame") or hasattr(referent, "cr_frame"):
            return referent
    return None


def await_chain(task: asyncio.Task[Any]) -> list[str]:
    """Return ``file:line in function`` for each frame the task is suspended in, outermost first."""
    frames: list[str] = []
    awaited: Any = task.get_coro()
    for _ in range(_MAX_DEPTH):
        if awaited is None:
            break
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        if frame is not None:
            code = frame.f_code
            frames.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        elif not isinstance(awaited, CoroutineType):
            frames.append(f"<{type(awaited).__name__}>")
        awaited = _inner(awaited)
    return frames


def consumer_state(app: Any) -> list[str]:
    """Return one line per assigned partition: fetched or not, read, acked and committed offsets."""
    consumer = app.consumer
    active = consumer._active_partitions or set()
    paused = consumer._paused_partitions
    buffered = consumer._buffered_partitions
    known = settled(consumer)
    unacked = _unacked_by_partition(consumer)
    lines = []
    for tp in sorted(consumer.assignment()):
        lines.append(
            f"{tp.topic}[{tp.partition}] active={tp in active} paused={tp in paused} "
            f"buffer_full={tp in buffered} read={consumer._read_offset[tp]} "
            f"committed={consumer._committed_offset[tp]} settled={tp in known} "
            f"highwater={consumer.highwater(tp)} acked={sorted(consumer._acked[tp])[:_SHOWN]} "
            f"unacked(offset, refcount, generation)={unacked.get(tp, [])[:_SHOWN]}"
        )
    return lines


def _unacked_by_partition(consumer: Any) -> dict[Any, list[tuple[int, int, int | None]]]:
    """Return, per partition, the events a stream took and nobody has finished, lowest first."""
    found: dict[Any, list[tuple[int, int, int | None]]] = {}
    for message in list(consumer._unacked_messages):
        if not message.acked:
            entry = (message.offset, message.refcount, message.generation_id)
            found.setdefault(message.tp, []).append(entry)
    return {tp: sorted(entries) for tp, entries in found.items()}


def report(app: Any, loop: asyncio.AbstractEventLoop) -> str:
    """Return the whole diagnostic text: partitions, then every task's await chain."""
    out = io.StringIO()
    out.write("partitions:\n")
    for line in consumer_state(app):
        out.write(f"  {line}\n")
    out.write(
        f"flow control active: {app.flow_control.is_active()}, consumer generation "
        f"{app.consumer_generation_id}\n"
    )
    for task in sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name()):
        out.write(f"task {task.get_name()}:\n")
        for frame in await_chain(task):
            out.write(f"    {frame}\n")
    return out.getvalue()
