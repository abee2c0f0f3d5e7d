"""Keep Faust from committing an offset that no agent has finished with.

At-least-once delivery holds only if a partition's committed offset never passes an event some
agent has not finished: a SIGKILL after such a commit loses the events it passed over.
faust-streaming 0.15.3 breaks that in five places (the crash tests lost order events through
the first and the fifth, and stalled on the second):

1. **A partition without a committed offset is not sought back after recovery.** While a worker
   recovers its tables, ``Consumer.getmany`` drops the records it fetched for partitions not yet
   active, counting on the seek to the committed offsets that ends every recovery to fetch them
   again. A partition nobody has committed yet (its first worker was killed within the commit
   interval) is not sought at all, so its fetch position stays past the dropped records; the
   agents start at whatever comes next, and the first commit covers the gap (10 orders' records
   of one partition, crash-test seed 377334593).
2. **Commits run while the committed offsets are unknown.** Faust forgets a partition's
   committed offset when it is revoked and learns it again in that seek, which can take a
   second; meanwhile the agents may already handle records (recovery resumes the flow before
   the seek), and the periodic commit, seeing no committed offset, commits the first run of
   acknowledged offsets whatever lies before it. The seek then writes back the offset it read
   before that commit, and no later acknowledgement can close the gap (seed 212656365).
3. **Skipped events count as done.** During a rebalance a stream skips every event it takes
   while flow control is suspended, or that was fetched in an older consumer generation; the
   pure-Python stream iterator acknowledges it, even on a ``noack`` stream (the Cython one
   leaves it unacknowledged). When the other agents on that topic had finished the event, that
   acknowledgement is the last one, and its offset becomes committable although the skipping
   agent never handled it.
4. **One record at the head is stepped over** (faust-streaming#606, PR #707 still open):
   ``Consumer._new_offset`` tolerates a one-offset gap between the committed offset and the
   first acknowledged one, meant for transaction markers, so an event still being worked on at
   the committed offset (execution lanes), or one that never reached the agents, is committed
   over; a gap the fetcher saw is committed over the same way.
5. **A batch fetched before the seek is handed out after it.** The fetch loop keeps handing out
   the batch it holds while recovery seeks back to the committed offsets, and it remembers the
   last offset it handed out as the partition's read offset: the seek's refetched records below
   it are dropped as already delivered, and a jump above it is counted as a gap. Agents never
   see those records; the commit either stalls on them or (through 4, or with nothing
   committed) passes them (5 orders of a one-worker crash run, seed 793729485).

:func:`install` patches Faust's ``Consumer`` once per process, before the app starts:

1. with ``auto_offset_reset=earliest``, every seek to the committed offsets also seeks the
   partitions with nothing committed to their first offset, where such a worker must read from,
   and a commit of such a partition starts there;
2. a partition is committed only once that seek has established its committed offset (from
   revocation until then, acknowledgements wait);
3. an acknowledgement made while flow control is suspended, or of an event from an older
   generation, retires the event without counting its offset: after every rebalance Faust seeks
   back to the committed offset and fetches it again, so every agent handles it again (every
   effect downstream is idempotent) instead of one of them never;
4. a commit never passes the lowest offset of an event that a stream has taken and not finished,
   and, except on compacted topics (:func:`allow_gaps`), starts with the record at the committed
   offset itself and counts no gap: without transactions or compaction every offset is a record;
5. no record of a batch fetched before a seek is handed out once the seek has begun; when it
   ends, the read offsets are put back where it set them, and records held back that were
   fetched after it are fetched again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.transport.consumer import Consumer
from faust.types import TP
from faust.types.tuples import Message, ack_lock
from faust.utils.functional import consecutive_numbers
from mode.utils.futures import notify

log = logging.getLogger(__name__)
_installed = threading.Lock()
_state: dict[str, Any] = {}
_retired = {"count": 0, "logged_generation": -1}
_compacted: set[str] = set()


def install() -> None:
    """Patch Faust's consumer (idempotent); the originals stay reachable for :func:`uninstall`."""
    with _installed:
        if _state:
            return
        _state["ack"] = Consumer.ack
        _state["filter"] = Consumer._filter_committable_offsets
        _state["seek"] = Consumer.perform_seek
        _state["revoked"] = Consumer.on_partitions_revoked
        _state["getmany"] = Consumer.getmany
        Consumer.ack = _ack  # type: ignore[method-assign]
        Consumer._filter_committable_offsets = _filter_committable_offsets  # type: ignore[method-assign]
        Consumer.perform_seek = _perform_seek  # type: ignore[method-assign]
        Consumer.on_partitions_revoked = _on_partitions_revoked  # type: ignore[method-assign]
        Consumer.getmany = _getmany  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore Faust's own methods (tests that compare both behaviours)."""
    with _installed:
        if not _state:
            return
        Consumer.ack = _state.pop("ack")  # type: ignore[method-assign]
        Consumer._filter_committable_offsets = _state.pop("filter")  # type: ignore[method-assign]
        Consumer.perform_seek = _state.pop("seek")  # type: ignore[method-assign]
        Consumer.on_partitions_revoked = _state.pop("revoked")  # type: ignore[method-assign]
        Consumer.getmany = _state.pop("getmany")  # type: ignore[method-assign]


def is_stale(consumer: Consumer, message: Message) -> bool:
    """Say whether ``message`` will be fetched again: taken during or before the last rebalance."""
    app = consumer.app
    if not app.flow_control.is_active():
        return True
    generation = message.generation_id
    return generation is not None and generation != app.consumer_generation_id


def _ack(self: Consumer, message: Message) -> bool:
    """Count an acknowledgement, unless its event will come back after the rebalance."""
    if not is_stale(self, message):
        original: Any = _state["ack"]
        return bool(original(self, message))
    with ack_lock:
        if message.acked:
            return False
        message.acked = True  # retired: no stream waits on it, no commit counts it
        self._unacked_messages.discard(message)
    notify(self._waiting_for_ack)
    _note_retired(self, message)
    return False


def retired_count() -> int:
    """Return how many acknowledgements this process has retired (for logs and tests)."""
    return _retired["count"]


def _note_retired(consumer: Consumer, message: Message) -> None:
    _retired["count"] += 1
    generation = consumer.app.consumer_generation_id
    if _retired["logged_generation"] != generation:  # once per rebalance: it comes in bursts
        _retired["logged_generation"] = generation
        log.info("rebalance: acknowledgements taken meanwhile (first %s@%d, fetched in "
                 "generation %s, now %s) are not counted; Faust fetches those events again",
                 message.tp, message.offset, message.generation_id, generation)  # fmt: skip


def settled(consumer: Consumer) -> set[TP]:
    """Return the partitions whose committed offset the last seek established (commit these)."""
    known: set[TP] | None = consumer.__dict__.get("_tradestream_settled")
    if known is None:
        known = consumer.__dict__["_tradestream_settled"] = set()
    return known


async def _on_partitions_revoked(self: Consumer, revoked: set[TP]) -> None:
    settled(self).difference_update(revoked)  # before Faust forgets their committed offsets
    original: Any = _state["revoked"]
    await original(self, revoked)


@dataclass
class SeekState:
    """What the last seek to the committed offsets did, for the batches fetched around it."""

    epoch: int = 0  # counts the seeks that ended
    seeking: int = 0  # seeks under way (the fetch loop's own may overlap recovery's)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    reads: dict[TP, int | None] = field(default_factory=dict)  # read offsets the seek set
    starts: dict[TP, int] = field(default_factory=dict)  # first offsets (auto reset earliest)


def seek_state(consumer: Consumer) -> SeekState:
    """Return the consumer's seek bookkeeping (made on first use)."""
    state: SeekState | None = consumer.__dict__.get("_tradestream_seek")
    if state is None:
        state = consumer.__dict__["_tradestream_seek"] = SeekState()
        state.done.set()
    return state


async def _perform_seek(self: Consumer) -> None:
    """Seek to the committed offsets, and partitions with none to their first offset."""
    state = seek_state(self)
    state.seeking += 1
    state.reads = {}
    state.done.clear()
    try:
        original: Any = _state["seek"]
        await original(self)
        await _learn_first_offsets(self, state)
        settled(self).update(self.assignment())
        committed = self._committed_offset
        state.reads = {tp: committed.get(tp) or state.starts.get(tp) or None
                       for tp in self.assignment()}  # fmt: skip
        self._read_offset.update(state.reads)  # what a batch delivered meanwhile moved
    finally:
        state.epoch += 1
        state.seeking -= 1
        if not state.seeking:
            state.done.set()


async def _learn_first_offsets(self: Consumer, state: SeekState) -> None:
    """Note the first offset of every input partition; seek those with nothing committed there.

    The first offsets also tell where a commit may start when what was committed has expired
    (a worker down for longer than the topic's retention reads on from the first record left).
    """
    app = self.app
    if app.conf.consumer_auto_offset_reset != "earliest":
        return
    acking = sorted(tp for tp in self.assignment() if app.topics.acks_enabled_for(tp.topic))
    if not acking:
        return
    starts = await self.earliest_offsets(*acking)
    state.starts.update({tp: starts.get(tp) or 0 for tp in acking})
    uncommitted = [tp for tp in acking if self._committed_offset.get(tp) is None]
    for tp in uncommitted:
        await self.seek(tp, state.starts[tp])
    if uncommitted:
        log.info("nothing committed yet on %d partitions (%s...): reading them from their start",
                 len(uncommitted), uncommitted[0])  # fmt: skip


async def _getmany(
    self: Consumer,
    timeout: float,  # noqa: ASYNC109 - Faust's signature
) -> AsyncIterator[tuple[TP, Message]]:
    """Hand out fetched records, but none of a batch fetched before a seek that ended since.

    Faust's fetch loop drops every record below the partition's read offset (taken for one
    already delivered) and counts a jump above it as a gap to commit over. Records of a batch
    in hand when the seek ends would move the read offset past the records the seek fetches
    again (dropped: stalled or, with a gap or nothing committed, lost).
    """
    state = seek_state(self)
    epoch = state.epoch
    batch = _state["getmany"](self, timeout)
    held_back: dict[TP, int] = {}
    try:
        async for tp, message in batch:
            if state.seeking or state.epoch != epoch:
                held_back.setdefault(tp, message.offset)
                continue
            yield tp, message
    finally:
        await batch.aclose()
    if state.seeking or state.epoch != epoch:
        await _after_seek(self, state, held_back)


async def _after_seek(self: Consumer, state: SeekState, held_back: dict[TP, int]) -> None:
    """Put the read offsets back where the seek set them; fetch again what was held back."""
    await state.done.wait()
    self._read_offset.update(state.reads)  # moved by the last record delivered before it
    assigned = self.assignment()
    again = []
    for tp, first in sorted(held_back.items()):
        try:
            position = await self.position(tp) if tp in assigned else None
            if position is not None and position > first:  # fetched after the seek: again
                await self.seek(tp, first)
                again.append(f"{tp.topic}[{tp.partition}]@{first}")
        except IllegalStateError:  # revoked meanwhile: its next owner seeks to the committed
            continue
    if held_back:
        log.info("seek: a batch fetched around it was held back on %d partitions; fetching "
                 "again %s", len(held_back), ", ".join(again) or "none")  # fmt: skip


def allow_gaps(topics: Iterable[str]) -> None:
    """Name the compacted topics: the only ones where offsets may be missing between records.

    On them a commit may pass offsets the fetcher found missing, and a missing record at the
    committed offset, as Faust does. Elsewhere (no transactions, no compaction) every offset is
    a record, so a commit waits for the record at the committed offset and never counts a gap.
    """
    _compacted.update(topics)


def in_flight_floors(messages: Iterable[Message]) -> dict[TP, int]:
    """Return, per partition, the lowest offset of an event taken by a stream and not finished."""
    floors: dict[TP, int] = {}
    for message in list(messages):
        if message.acked:
            continue
        tp, offset = message.tp, message.offset
        if offset < floors.get(tp, offset + 1):
            floors[tp] = offset
    return floors


def _filter_committable_offsets(self: Consumer, tps: Iterable[TP]) -> dict[TP, int]:
    floors = in_flight_floors(self._unacked_messages)
    known = settled(self)
    commit_offsets: dict[TP, int] = {}
    for tp in tps:
        if tp not in known:
            continue  # its committed offset is being learnt again: its acks wait for that
        offset = next_commit(self, tp, floors.get(tp))
        if offset is not None and self._should_commit(tp, offset):
            commit_offsets[tp] = offset
    return commit_offsets


def next_commit(consumer: Consumer, tp: TP, floor: int | None) -> int | None:
    """Return the offset to commit for ``tp`` (the next one to read), or None to wait.

    Faust's rule (take the first run of consecutive acknowledged offsets) starting at the
    committed offset (with nothing committed, at the first offset the seek read from) and
    stopped below ``floor``, the lowest in-flight offset. Only on compacted topics are gaps the
    fetcher saw folded in and a missing record at the head tolerated, as Faust does everywhere.
    """
    acked: list[int] = consumer._acked[tp]
    if not acked:
        return None
    compacted = tp.topic in _compacted
    if compacted:
        _fold_gaps(consumer, tp, acked)
    acked.sort()
    committed = consumer._committed_offset[tp]
    start = seek_state(consumer).starts.get(tp)  # the first offset at the last seek, if known
    if start is not None and (committed is None or committed < start):
        committed = start  # nothing committed, or what was has expired: read from the first
    if committed is not None and acked[0] - committed > (1 if compacted else 0):
        return None
    batch = next(consecutive_numbers(acked))
    if floor is not None:
        batch = [offset for offset in batch if offset < floor]
        if not batch:
            return None
    del acked[: len(batch)]
    consumer._acked_index[tp].difference_update(batch)
    return int(batch[-1]) + 1


def _fold_gaps(consumer: Consumer, tp: TP, acked: list[int]) -> None:
    """Count offsets the fetcher saw missing (compaction, markers) as acknowledged, like Faust."""
    gaps = consumer._gap[tp]
    if not gaps:
        return
    max_offset = max(acked)
    missing: list[int] = []
    for interval in sorted(gaps.overlap(0, max_offset), key=lambda entry: entry.begin):
        missing.extend(range(interval.begin, interval.end))
    if missing:
        acked.extend(missing)
        gaps.chop(0, max(missing[-1], max_offset + 1))
