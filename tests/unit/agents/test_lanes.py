"""Keyed lanes: one key's work in order, other keys' work at the same time, a bounded total."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.waiting import eventually
from tradestream.agents.lanes import KeyedLanes, Work


async def test_work_of_one_key_runs_in_order_and_other_keys_run_meanwhile() -> None:
    lanes = KeyedLanes(limit=8)
    gate = asyncio.Event()
    done: list[str] = []

    def work(name: str, wait: bool = False) -> Work:
        async def run() -> None:
            if wait:
                await gate.wait()
            done.append(name)

        return run

    await lanes.submit("BTCUSDT", work("btc-1", wait=True))
    await lanes.submit("BTCUSDT", work("btc-2"))
    await lanes.submit("ETHUSDT", work("eth-1"))
    await eventually(lambda: "eth-1" in done, within=2, interval=0.01)
    assert done == ["eth-1"]  # BTC's second waits behind its first; ETH went by

    gate.set()
    await lanes.idle()
    assert done == ["eth-1", "btc-1", "btc-2"]
    assert lanes.lanes == 2
    await lanes.close()


async def test_no_more_than_the_limit_is_admitted_at_once() -> None:
    lanes = KeyedLanes(limit=2)
    gate = asyncio.Event()
    running = 0
    most = 0

    async def work() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gate.wait()
        running -= 1

    await lanes.submit("a", work)
    await lanes.submit("b", work)
    third = asyncio.create_task(lanes.submit("c", work))
    await asyncio.sleep(0)
    assert not third.done()  # the agent's stream waits: back-pressure

    gate.set()
    await asyncio.wait_for(third, 2)
    await lanes.idle()
    assert most == 2
    await lanes.close()


async def test_work_that_escapes_its_boundary_stops_the_next_submit() -> None:
    lanes = KeyedLanes(limit=4)

    async def broken() -> None:
        raise RuntimeError("a bug")

    await lanes.submit("a", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        await lanes.idle()
    with pytest.raises(RuntimeError, match="a bug"):
        await lanes.submit("b", broken)
    await lanes.close()


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KeyedLanes(limit=0)
