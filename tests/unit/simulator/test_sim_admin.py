"""The admin API reports and controls the simulator over HTTP."""

from __future__ import annotations

import aiohttp
import pytest

from .conftest import Connect, Start, replay_config
from .support import admin, eventually

pytestmark = pytest.mark.timeout(30)


async def test_stats_describe_the_source_totals_and_connections(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config(source={"symbols": 5}))
    client = await connect(sim)
    await client.subscribe("tickers.BTC2USDT", req_id="s")

    stats = await admin(session, "GET", f"{sim.admin_url}/stats")

    assert stats["url"] == sim.url
    assert stats["source"]["symbols"] == list(sim.symbols)
    assert stats["source"]["paused"] is True
    assert stats["source"]["depth"] == 200
    assert stats["totals"]["connections_open"] == 1
    (conn,) = stats["connections"]
    assert conn["conn_id"] == client.conn_id
    assert conn["topics"] == ["tickers.BTC2USDT"]
    assert conn["frames_by_topic"] == {"op:subscribe": 1}


async def test_pause_and_resume_hold_and_release_the_source(
    start: Start, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config(start_paused=False, source={"loops": 0}))

    assert await admin(session, "POST", f"{sim.admin_url}/source/pause") == {"paused": True}
    held = dict(sim.hub.produced)
    await admin(session, "GET", f"{sim.admin_url}/stats")
    assert sim.hub.produced == held
    assert await admin(session, "POST", f"{sim.admin_url}/source/resume") == {"paused": False}
    await eventually(lambda: sim.hub.produced["book"] > held["book"])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/book/NOPEUSDT", 404),
        ("/book/BTCUSDT?depth=0", 400),
        ("/book/BTCUSDT?depth=abc", 400),
        ("/connections/nope/frames", 404),
        ("/faults?fault=teleport", 400),
    ],
)
async def test_bad_admin_requests_are_refused(
    start: Start, session: aiohttp.ClientSession, path: str, status: int
) -> None:
    sim = await start(replay_config())
    method = "DELETE" if path.startswith("/faults") else "GET"

    async with session.request(method, f"{sim.admin_url}{path}") as response:
        assert response.status == status


async def test_frames_need_keep_frames(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config(keep_frames=False))
    client = await connect(sim)
    await client.request({"op": "ping", "req_id": "p"})

    async with session.get(f"{sim.admin_url}/connections/{client.conn_id}/frames") as response:
        assert response.status == 400


async def test_a_book_is_empty_until_the_source_sends_its_snapshot(
    start: Start, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())

    book = await admin(session, "GET", f"{sim.admin_url}/book/ETHUSDT?depth=5")

    assert (book["ready"], book["bids"], book["asks"]) == (False, [], [])
    sim.resume()
    await eventually(lambda: sim.hub.markets["ETHUSDT"].ready)
    book = await admin(session, "GET", f"{sim.admin_url}/book/ETHUSDT?depth=5")
    assert len(book["bids"]) == len(book["asks"]) == 5
