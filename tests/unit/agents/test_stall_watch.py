"""The stall watch tells a worker that is not fed from one that is busy, idle or catching up."""

from __future__ import annotations

import pytest

from tradestream.agents.stall_watch import PartitionProgress, StallWatch, agents_busy, busy

FED = PartitionProgress(highwater=10, position=10, handed=9, committed=10)
NOT_FETCHED = PartitionProgress(highwater=60, position=34, handed=33, committed=34)
NOT_ACKED = PartitionProgress(highwater=60, position=60, handed=59, committed=34)


@pytest.mark.parametrize(
    ("progress", "busy_now", "waiting"),
    [
        (FED, False, False),
        (PartitionProgress(highwater=0, position=0, handed=None, committed=None), False, False),
        (NOT_FETCHED, False, True),
        (NOT_FETCHED, True, True),  # the fetcher does not depend on the agent
        (NOT_ACKED, False, True),
        (NOT_ACKED, True, False),  # an agent retrying Redis or PostgreSQL holds its input
        (PartitionProgress(highwater=5, position=None, handed=None, committed=None), False, False),
        # right after an assignment Faust's read offset is the next offset, like the others
        (PartitionProgress(highwater=131, position=131, handed=131, committed=131), False, False),
        (PartitionProgress(highwater=7, position=7, handed=None, committed=None), False, True),
    ],
)
def test_a_partition_waits_only_for_work_nobody_is_doing(
    progress: PartitionProgress, busy_now: bool, waiting: bool
) -> None:
    assert progress.waiting(busy=busy_now) is waiting


def test_a_partition_is_stalled_after_waiting_without_progress_for_the_whole_window() -> None:
    watch = StallWatch(stall_after_s=30)

    assert watch.observe({"orders[0]": NOT_FETCHED}, busy=False, now=0) == []
    assert watch.observe({"orders[0]": NOT_FETCHED}, busy=False, now=29.9) == []
    assert watch.observe({"orders[0]": NOT_FETCHED}, busy=False, now=30) == ["orders[0]"]


def test_any_progress_or_a_pause_in_waiting_starts_the_window_again() -> None:
    watch = StallWatch(stall_after_s=30)
    moved = PartitionProgress(highwater=60, position=40, handed=39, committed=40)

    watch.observe({"orders[0]": NOT_FETCHED}, busy=False, now=0)
    assert watch.observe({"orders[0]": moved}, busy=False, now=20) == []
    assert watch.observe({"orders[0]": moved}, busy=False, now=45) == []
    assert watch.observe({"orders[0]": FED}, busy=False, now=50) == []
    assert watch.observe({"orders[0]": moved}, busy=False, now=55) == []
    assert watch.observe({"orders[0]": moved}, busy=False, now=84) == []
    assert watch.observe({"orders[0]": moved}, busy=False, now=85) == ["orders[0]"]


def test_a_revoked_partition_is_forgotten() -> None:
    watch = StallWatch(stall_after_s=30)

    watch.observe({"orders[0]": NOT_ACKED}, busy=False, now=0)
    watch.observe({}, busy=False, now=10)
    assert watch.observe({"orders[0]": NOT_ACKED}, busy=False, now=35) == []


async def test_busy_counts_the_events_in_hand() -> None:
    assert not agents_busy()
    async with busy():
        async with busy():
            assert agents_busy()
        assert agents_busy()
    assert not agents_busy()
