"""Faust's consumer, patched, never commits past an event no agent has finished."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import cast

import faust
import pytest
from aiokafka.errors import IllegalStateError
from faust.transport.consumer import Consumer
from faust.types import TP
from faust.types.tuples import ConsumerMessage, Message

from tradestream.streams import commit_safety

TOPIC = "exec.reports"
PARTITION = TP(TOPIC, 0)


# One app for the module, alive as long as the process (as ``tradestream.app`` is): a Faust app
# makes an event loop that a per-test app would leave behind unclosed.
APP = faust.App("commit-safety-test", broker="kafka://127.0.0.1:1", autodiscover=False)


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Consumer]:
    """Yield a real Faust consumer (never started) with clean books, flow running, acks on."""
    monkeypatch.setattr(APP.topics, "acks_enabled_for", lambda topic: True)
    monkeypatch.setattr(APP.consumer, "earliest_offsets", _all_from_zero)
    APP.flow_control.resume()
    APP.consumer_generation_id = 7
    consumer = cast(Consumer, APP.consumer)
    for books in (
        consumer._acked, consumer._acked_index, consumer._committed_offset, consumer._gap,
        consumer._unacked_messages,
    ):  # fmt: skip
        books.clear()
    commit_safety.settled(consumer).clear()
    commit_safety.settled(consumer).update(TP(TOPIC, n) for n in range(4))
    consumer.__dict__.pop("_tradestream_seek", None)
    consumer._read_offset.clear()
    commit_safety.install()
    yield consumer
    commit_safety.install()  # a test that compared with Faust's own rule put the patch back


async def _all_from_zero(*tps: TP) -> dict[TP, int]:
    return dict.fromkeys(tps, 0)


def message(offset: int, generation: int = 7, tp: TP = PARTITION) -> Message:
    return ConsumerMessage(
        tp.topic, tp.partition, offset, 0.0, 0, None, None, b"BTCUSDT", b"{}", None,
        tp=tp, generation_id=generation,
    )  # fmt: skip


def taken(consumer: Consumer, *offsets: int) -> list[Message]:
    """Return messages as a stream holds them after reading: tracked, not acknowledged."""
    messages = [message(offset) for offset in offsets]
    for each in messages:
        each.incref()
        consumer._unacked_messages.add(each)
    return messages


def finish(consumer: Consumer, messages: list[Message]) -> None:
    for each in messages:
        each.ack(consumer)


def commit(consumer: Consumer, *tps: TP) -> dict[TP, int]:
    """Return what a commit now would write, and record it as committed, as Faust does."""
    offsets = consumer._filter_committable_offsets(tps or [PARTITION])
    consumer._committed_offset.update(offsets)
    return offsets


def test_faust_alone_commits_over_the_event_in_progress(consumer: Consumer) -> None:
    """The faust-streaming#606 case, so that this module's reason stays checked."""
    commit_safety.uninstall()
    consumer._committed_offset[PARTITION] = 2585
    in_progress, *rest = taken(consumer, 2585, 2586, 2587, 2588, 2589)
    finish(consumer, rest)
    assert commit(consumer) == {PARTITION: 2590}
    assert not in_progress.acked


def test_the_commit_waits_for_the_event_in_progress(consumer: Consumer) -> None:
    consumer._committed_offset[PARTITION] = 2585
    in_progress, *rest = taken(consumer, 2585, 2586, 2587, 2588, 2589)
    finish(consumer, rest)
    assert commit(consumer) == {}
    finish(consumer, [in_progress])
    assert commit(consumer) == {PARTITION: 2590}


def test_the_commit_stops_below_an_event_in_progress_after_a_run(consumer: Consumer) -> None:
    consumer._committed_offset[PARTITION] = 10
    messages = taken(consumer, 10, 11, 12, 13, 14)
    finish(consumer, [messages[0], messages[1], messages[3], messages[4]])
    assert commit(consumer) == {PARTITION: 12}
    finish(consumer, [messages[2]])
    assert commit(consumer) == {PARTITION: 15}


def test_an_event_in_progress_elsewhere_does_not_hold_this_partition(consumer: Consumer) -> None:
    other = TP(TOPIC, 1)
    consumer._committed_offset[PARTITION] = 0
    elsewhere = message(0, tp=other)
    elsewhere.incref()
    consumer._unacked_messages.add(elsewhere)
    finish(consumer, taken(consumer, 0, 1, 2))
    assert commit(consumer, PARTITION, other) == {PARTITION: 3}


def test_an_event_of_an_older_generation_is_retired_not_counted(consumer: Consumer) -> None:
    consumer._committed_offset[PARTITION] = 40
    stale = message(40, generation=6)
    stale.incref()
    consumer._unacked_messages.add(stale)
    retired = commit_safety.retired_count()
    assert stale.ack(consumer) is False
    assert commit_safety.retired_count() == retired + 1
    assert stale.acked
    assert stale not in consumer._unacked_messages
    assert commit(consumer) == {}


def test_acknowledgements_during_a_rebalance_are_not_counted(consumer: Consumer) -> None:
    """What a stream skips while flow control is suspended comes back after the seek."""
    consumer._committed_offset[PARTITION] = 100
    skipped = taken(consumer, 100, 101, 102)
    consumer.app.flow_control.suspend()
    finish(consumer, skipped)
    assert all(each.acked for each in skipped)
    assert not consumer._unacked_messages
    consumer.app.flow_control.resume()
    assert commit(consumer) == {}
    finish(consumer, taken(consumer, 100, 101, 102))
    assert commit(consumer) == {PARTITION: 103}


def test_a_run_from_a_fresh_group_commits_when_nothing_is_in_progress(consumer: Consumer) -> None:
    finish(consumer, taken(consumer, 0, 1, 2, 3))
    assert commit(consumer) == {PARTITION: 4}


def test_on_a_compacted_topic_offsets_the_fetcher_saw_missing_count(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commit_safety, "_compacted", {TOPIC})
    consumer._committed_offset[PARTITION] = 3
    consumer._gap[PARTITION].addi(5, 7)
    finish(consumer, taken(consumer, 3, 4, 7, 8))
    assert commit(consumer) == {PARTITION: 9}


def test_elsewhere_a_gap_is_no_record_and_the_commit_stops_before_it(consumer: Consumer) -> None:
    """Without compaction or transactions a gap means records the agents never saw."""
    consumer._committed_offset[PARTITION] = 3
    consumer._gap[PARTITION].addi(5, 7)
    finish(consumer, taken(consumer, 3, 4, 7, 8))
    assert commit(consumer) == {PARTITION: 5}
    assert commit(consumer) == {}


def test_the_commit_waits_for_the_record_at_the_committed_offset(consumer: Consumer) -> None:
    """Faust would pass offset 6 although no agent took it (crash-test seed 913363046)."""
    consumer._committed_offset[PARTITION] = 6
    finish(consumer, taken(consumer, 7, 8, 9))
    assert commit(consumer) == {}
    finish(consumer, taken(consumer, 6))
    assert commit(consumer) == {PARTITION: 10}


def test_past_an_expired_committed_offset_the_commit_starts_at_the_first_record_left(
    consumer: Consumer,
) -> None:
    """A worker down for longer than the retention reads on from the first record left."""
    consumer._committed_offset[PARTITION] = 5
    commit_safety.seek_state(consumer).starts[PARTITION] = 40
    finish(consumer, taken(consumer, 40, 41))
    assert commit(consumer) == {PARTITION: 42}


def test_on_a_compacted_topic_a_missing_record_at_the_head_is_passed(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commit_safety, "_compacted", {TOPIC})
    consumer._committed_offset[PARTITION] = 6
    finish(consumer, taken(consumer, 7, 8, 9))
    assert commit(consumer) == {PARTITION: 10}


def test_with_nothing_committed_the_commit_starts_where_the_seek_read_from(
    consumer: Consumer,
) -> None:
    commit_safety.seek_state(consumer).starts[PARTITION] = 0
    finish(consumer, taken(consumer, 9, 10))
    assert commit(consumer) == {}
    finish(consumer, taken(consumer, *range(9)))
    assert commit(consumer) == {PARTITION: 11}


def test_install_is_idempotent_and_reversible(consumer: Consumer) -> None:
    commit_safety.install()
    patched = Consumer.ack
    commit_safety.uninstall()
    assert Consumer.ack is not patched
    commit_safety.install()
    assert Consumer.ack is patched


def test_in_flight_floors_skip_finished_events() -> None:
    done, waiting, later = message(3), message(5), message(9)
    done.acked = True
    assert commit_safety.in_flight_floors([done, later, waiting]) == {PARTITION: 5}


async def test_after_recovery_a_partition_nobody_committed_is_read_from_its_start(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its fetch position may lie past records dropped while the tables recovered."""
    committed, fresh = TP(TOPIC, 1), TP(TOPIC, 2)
    changelog = TP("app-positions-changelog", 0)
    seeks: list[tuple[TP, int]] = []

    async def seek_to_committed() -> dict[TP, int | None]:
        return {PARTITION: 0, committed: 12, fresh: None, changelog: None}

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, 3)

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))

    monkeypatch.setattr(APP.topics, "acks_enabled_for", lambda topic: topic == TOPIC)
    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "assignment", lambda: {PARTITION, committed, fresh, changelog})
    monkeypatch.setattr(consumer, "earliest_offsets", earliest_offsets)
    monkeypatch.setattr(consumer, "seek", seek)

    commit_safety.settled(consumer).clear()
    await consumer.perform_seek()

    assert consumer._committed_offset[committed] == 12
    assert seeks == [(PARTITION, 3), (fresh, 3)]  # committed 0 is nothing committed too
    assert commit_safety.settled(consumer) == {PARTITION, committed, fresh, changelog}


async def test_nothing_is_committed_while_the_committed_offset_is_being_learnt(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From revocation until the seek that ends recovery, acknowledgements wait."""
    monkeypatch.setattr(consumer.app, "_on_partitions_revoked", _nothing_to_do)
    await consumer.on_partitions_revoked({PARTITION})
    finish(consumer, taken(consumer, 24, 25, 26))  # handled before the seek, as recovery allows
    assert commit(consumer) == {}
    assert consumer._acked[PARTITION] == [24, 25, 26]

    async def seek_to_committed() -> dict[TP, int | None]:
        return {PARTITION: 24}

    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "assignment", lambda: {PARTITION})
    await consumer.perform_seek()
    assert commit(consumer) == {PARTITION: 27}


async def _nothing_to_do(revoked: set[TP]) -> None:
    return None


async def test_a_batch_fetched_before_a_seek_is_not_handed_out_after_it(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faust's fetch loop would drop the refetched 6..20 as below the read offset 21."""
    other = TP(TOPIC, 1)
    positions = {PARTITION: 6, other: 32}  # after the seek: PARTITION not refetched yet
    seeks: list[tuple[TP, int]] = []

    async def batch(self: Consumer, _timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        for tp, offset in ((PARTITION, 20), (PARTITION, 21), (other, 30), (other, 31)):
            yield tp, message(offset, tp=tp)

    async def seek_to_committed() -> dict[TP, int | None]:
        return {PARTITION: 6, other: 30}

    async def position(tp: TP) -> int:
        return positions[tp]

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))

    monkeypatch.setitem(commit_safety._state, "getmany", batch)
    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "assignment", lambda: {PARTITION, other})
    monkeypatch.setattr(consumer, "position", position)
    monkeypatch.setattr(consumer, "seek", seek)

    handed = []
    async for tp, record in consumer.getmany(timeout=1.0):
        handed.append((tp, record.offset))
        await consumer.perform_seek()  # recovery ends while the fetch loop delivers 20
        consumer._read_offset[tp] = record.offset  # what the fetch loop then records

    assert handed == [(PARTITION, 20)]
    assert consumer._read_offset[PARTITION] == 6
    assert consumer._read_offset[other] == 30
    assert seeks == [(other, 30)]  # fetched after the seek, held back: fetched again


async def test_a_batch_without_a_seek_is_handed_out_whole(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def batch(self: Consumer, _timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        for offset in (4, 5, 6):
            yield PARTITION, message(offset)

    monkeypatch.setitem(commit_safety._state, "getmany", batch)
    handed = [record.offset async for _, record in consumer.getmany(timeout=1.0)]
    assert handed == [4, 5, 6]


async def test_a_partition_revoked_before_it_is_fetched_again_is_left_to_its_next_owner(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def batch(self: Consumer, _timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        yield PARTITION, message(20)
        yield PARTITION, message(21)

    async def seek_to_committed() -> dict[TP, int | None]:
        return {PARTITION: 6}

    async def revoked(tp: TP) -> int:
        raise IllegalStateError(f"Partition {tp} is not assigned")

    monkeypatch.setitem(commit_safety._state, "getmany", batch)
    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "assignment", lambda: {PARTITION})
    monkeypatch.setattr(consumer, "position", revoked)
    handed = []
    async for _, record in consumer.getmany(timeout=1.0):
        handed.append(record.offset)
        await consumer.perform_seek()
    assert handed == [20]


async def test_records_wait_until_overlapping_seeks_have_all_ended(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch loop's own seek (flow stopped) may run while recovery's is under way."""
    asked, release = asyncio.Event(), asyncio.Event()

    async def seek_to_committed() -> dict[TP, int | None]:
        if not asked.is_set():  # recovery's seek: it waits on the broker
            asked.set()
            await release.wait()
        return {PARTITION: 6}

    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "assignment", lambda: {PARTITION})
    first = asyncio.create_task(consumer.perform_seek())
    await asked.wait()
    await consumer.perform_seek()
    state = commit_safety.seek_state(consumer)
    assert state.seeking == 1
    assert not state.done.is_set()
    release.set()
    await first
    assert state.seeking == 0
    assert state.done.is_set()
