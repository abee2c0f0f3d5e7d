"""``batch_scheduled``: threads started inside it run under SCHED_BATCH; the caller is restored."""

from __future__ import annotations

import os
import threading

import pytest

from tradestream.streams.rdkafka import batch_scheduled

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling only")


def _policy_of_a_new_thread() -> int:
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0)))
    thread.start()
    thread.join()
    return seen[0]


def test_threads_started_inside_inherit_batch_and_the_caller_is_restored() -> None:
    before = os.sched_getscheduler(0)
    with batch_scheduled():
        assert os.sched_getscheduler(0) == os.SCHED_BATCH
        inside = _policy_of_a_new_thread()
    assert inside == os.SCHED_BATCH
    assert os.sched_getscheduler(0) == before
    assert _policy_of_a_new_thread() == before


def test_the_caller_is_restored_when_the_body_raises() -> None:
    before = os.sched_getscheduler(0)
    with pytest.raises(RuntimeError, match="boom"), batch_scheduled():
        raise RuntimeError("boom")
    assert os.sched_getscheduler(0) == before


def test_a_refused_policy_leaves_the_body_running_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: object) -> None:
        raise PermissionError("not allowed here")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    ran = False
    with batch_scheduled():
        ran = True
    assert ran
