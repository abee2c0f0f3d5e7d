"""The market engine's producer threads run under SCHED_BATCH (or not, when switched off).

Against the real broker: the broker thread librdkafka starts once it has learnt the cluster's
metadata (after the first record) must have inherited the policy too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tradestream.config.settings import Settings
from tradestream.streams.rdkafka import Outputs

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling only")


def _librdkafka_threads(before: set[int]) -> dict[int, tuple[str, int]]:
    # The threads started since ``before``: (name, scheduling policy) by thread id.
    found = {}
    for task in Path("/proc/self/task").iterdir():
        tid = int(task.name)
        if tid in before:
            continue
        name = (task / "comm").read_text().strip()
        if name.startswith("rdk:"):
            found[tid] = (name, os.sched_getscheduler(tid))
    return found


def _connect_and_send(settings: Settings) -> dict[int, tuple[str, int]]:
    # Connect, deliver one record (the broker thread starts after the metadata), list threads.
    before = {int(task.name) for task in Path("/proc/self/task").iterdir()}
    outputs = Outputs.connect(settings)
    outputs.produce(settings.scoped("probe"), b"x", b"k")
    assert outputs.close(10) == 0
    return _librdkafka_threads(before)


@pytest.mark.parametrize(("switch", "expected"), [(True, "SCHED_BATCH"), (False, "SCHED_OTHER")])
def test_producer_threads_follow_the_setting(
    settings: Settings, kafka_cleanup: None, switch: bool, expected: str
) -> None:
    caller = os.sched_getscheduler(0)
    threads = _connect_and_send(settings.model_copy(update={"market_producer_batch_sched": switch}))
    names = {name for name, _ in threads.values()}
    assert "rdk:main" in names
    assert any(name.startswith("rdk:broker") and name != "rdk:broker-1" for name in names), names
    assert {policy for _, policy in threads.values()} == {getattr(os, expected)}
    assert os.sched_getscheduler(0) == caller
