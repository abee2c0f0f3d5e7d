"""AckedBatches: every event landed once, in order, and acknowledged only after it landed."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.waiting import eventually
from tradestream.agents.batches import AckedBatches


class Sink:
    """Land batches when allowed to; remember what landed and what was acknowledged."""

    def __init__(self) -> None:
        self.landed: list[list[int]] = []
        self.acked: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: Exception | None = None

    async def land(self, batch: list[int]) -> None:
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        self.landed.append(list(batch))

    async def ack(self, event: int) -> None:
        assert any(event in batch for batch in self.landed), f"{event} acked before it landed"
        self.acked.append(event)


async def test_events_land_in_order_in_batches_and_are_acked_after_landing() -> None:
    sink = Sink()
    batches = AckedBatches(sink.land, sink.ack, max_size=4)
    batches.start()
    sink.gate.clear()  # the first batch waits: the next events gather behind it
    for event in range(5):
        await batches.add(event)
        await asyncio.sleep(0)
    assert sink.acked == []
    sink.gate.set()
    await eventually(lambda: len(sink.acked) == 5, within=2)
    assert sink.landed == [[0], [1, 2, 3, 4]]
    assert sink.acked == list(range(5))
    await batches.stop()


async def test_a_full_queue_holds_the_stream_back() -> None:
    sink = Sink()
    batches = AckedBatches(sink.land, sink.ack, max_size=2)
    batches.start()
    sink.gate.clear()
    await batches.add(0)
    await asyncio.sleep(0)  # 0 is being landed (and waits at the gate)
    await batches.add(1)
    await batches.add(2)
    blocked = asyncio.create_task(batches.add(3))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # two already wait: the third waits for room
    sink.gate.set()
    await asyncio.wait_for(blocked, timeout=2)
    await eventually(lambda: sink.acked == [0, 1, 2, 3], within=2)
    await batches.stop()


async def test_a_failed_landing_acks_nothing_and_stops_the_stream() -> None:
    sink = Sink()
    sink.fail_with = ValueError("the sink broke")
    batches = AckedBatches(sink.land, sink.ack, max_size=5)
    batches.start()
    await batches.add(0)

    async def refused() -> bool:
        try:
            await batches.add(1)
        except RuntimeError as exc:
            return isinstance(exc.__cause__, ValueError)
        return False

    await eventually(refused, within=2)
    assert sink.acked == []
    await batches.stop()


def test_a_batch_holds_at_least_one_event() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AckedBatches(Sink().land, Sink().ack, max_size=0)
