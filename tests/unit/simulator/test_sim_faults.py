"""Every fault is visible from a real client, and the books re-converge afterwards."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import orjson
import pytest

from tradestream.simulator import BybitSimulator

from .conftest import Connect, Start, replay_config
from .support import Client, admin, eventually, within

pytestmark = pytest.mark.timeout(60)

BOOK = "orderbook.200.BTCUSDT"


async def _fault(session: aiohttp.ClientSession, sim: BybitSimulator, **spec: Any) -> Any:
    return await admin(session, "POST", f"{sim.admin_url}/faults", spec)


async def _finish(sim: BybitSimulator, *clients: Client) -> None:
    sim.resume()
    await within(sim.source_done(), 30)

    def drained() -> bool:
        conns = [sim.hub.connections[client.conn_id] for client in clients]
        return all(
            conn.backlog == 0 and len(client.raw) == conn.log.frames
            for conn, client in zip(conns, clients, strict=True)
        )

    await eventually(drained)


async def _server_top(session: aiohttp.ClientSession, sim: BybitSimulator) -> dict[str, Any]:
    book = await admin(session, "GET", f"{sim.admin_url}/book/BTCUSDT?depth=200")
    return {"bids": book["bids"], "asks": book["asks"]}


async def test_drop_cuts_only_the_connections_carrying_the_symbol(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    btc, eth = await connect(sim), await connect(sim)
    await btc.subscribe(BOOK)
    await eth.subscribe("orderbook.200.ETHUSDT")

    result = await _fault(session, sim, fault="drop", symbol="BTCUSDT")

    assert result == {"fault": "drop", "dropped": [btc.conn_id]}
    await within(btc.closed.wait())
    assert btc.close_code != 1000
    assert not eth.closed.is_set()
    stats = await admin(session, "GET", f"{sim.admin_url}/stats")
    assert [c["conn_id"] for c in stats["closed_connections"]] == [btc.conn_id]


async def test_stall_holds_one_symbol_while_others_flow_then_releases_it(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK, "orderbook.200.ETHUSDT")
    await _fault(session, sim, fault="stall", symbol="BTCUSDT")

    sim.resume()
    await within(sim.source_done(), 30)
    await eventually(lambda: client.count("orderbook.200.ETHUSDT") == 421)
    held_count = sim.hub.connections[client.conn_id].stats()["held"]
    await admin(session, "DELETE", f"{sim.admin_url}/faults?fault=stall&symbol=BTCUSDT")
    await eventually(lambda: client.count(BOOK) == 414)

    assert held_count == 414
    assert client.books[BOOK].gaps == []
    assert client.books[BOOK].top(200) == await _server_top(session, sim)


async def test_gap_withholds_one_delta_so_u_jumps(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK)
    await eventually(lambda: len(client.messages) == 1)
    await _fault(session, sim, fault="gap", symbol="BTCUSDT", conn_id=client.conn_id)

    await _finish(sim, client)

    gaps = client.books[BOOK].gaps
    assert len(gaps) == 1
    assert gaps[0][1] == gaps[0][0] + 2
    conn = sim.hub.connections[client.conn_id]
    assert dict(conn.log.withheld) == {BOOK: 1}
    assert client.count(BOOK) == 413
    resubscribed = await connect(sim)
    await resubscribed.subscribe(BOOK)
    await eventually(lambda: resubscribed.count(BOOK) == 1)
    assert resubscribed.books[BOOK].top(200) == await _server_top(session, sim)


async def test_snapshot_fault_resends_the_current_book_on_the_same_u_sequence(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK)
    sim.resume()
    await eventually(lambda: client.count(BOOK) > 100)
    sim.pause()
    conn = sim.hub.connections[client.conn_id]
    await eventually(lambda: conn.backlog == 0 and len(client.raw) == conn.log.frames)
    last_u = client.books[BOOK].u

    result = await _fault(session, sim, fault="snapshot", symbol="BTCUSDT")
    await eventually(lambda: client.books[BOOK].snapshots == 2)
    fresh = client.on(BOOK)[-1]
    server = await _server_top(session, sim)
    await _finish(sim, client)

    assert result == {"fault": "snapshot", "snapshots": 1}
    assert fresh["type"] == "snapshot"
    assert fresh["data"]["u"] == last_u
    assert [fresh["data"]["b"], fresh["data"]["a"]] == [server["bids"], server["asks"]]
    assert client.books[BOOK].gaps == []


async def test_restart_sends_a_u1_snapshot_and_continues_from_2(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK, "orderbook.50.BTCUSDT")
    sim.resume()
    await eventually(lambda: client.count(BOOK) > 50)
    sim.pause()

    await _fault(session, sim, fault="restart", symbol="BTCUSDT")
    await _finish(sim, client)

    frames = client.on(BOOK)
    restart = next(i for i, m in enumerate(frames) if m["data"]["u"] == 1)
    assert frames[restart]["type"] == "snapshot"
    assert [m["data"]["u"] for m in frames[restart:]] == list(range(1, len(frames) - restart + 1))
    assert client.books[BOOK].top(200) == await _server_top(session, sim)
    assert any(m["data"]["u"] == 1 for m in client.on("orderbook.50.BTCUSDT"))


@pytest.mark.parametrize("kind", ["malformed", "truncated", "non_json"])
async def test_broken_frames_arrive_in_addition_to_the_stream(
    start: Start, connect: Connect, session: aiohttp.ClientSession, kind: str
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK)
    sim.resume()
    await eventually(lambda: client.count(BOOK) > 10)

    await _fault(session, sim, fault=kind, conn_id=client.conn_id)
    await _finish(sim, client)

    assert len(client.broken) == 1
    broken = client.broken[0]
    if kind == "truncated":
        assert broken.startswith(b'{"topic":"orderbook.200.BTCUSDT","type":"snapshot"')
    elif kind == "malformed":
        assert broken.startswith(b'{"topic":"orderbook.200.BTCUSDT"')
    else:
        assert not broken.lstrip().startswith((b"{", b"["))
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(broken)
    assert client.count(BOOK) == 414
    assert client.books[BOOK].gaps == []
    assert sim.hub.connections[client.conn_id].log.by_topic[f"fault:{kind}"] == 1


async def test_duplicate_sends_the_next_frames_twice(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK)
    await eventually(lambda: len(client.messages) == 1)
    await _fault(session, sim, fault="duplicate", symbol="BTCUSDT", count=3)

    await _finish(sim, client)

    data = [raw for raw in client.raw if raw.startswith(b'{"topic"')]
    assert len(data) == 414 + 3
    assert [data[0], data[2], data[4]] == [data[1], data[3], data[5]]
    assert data[6] != data[7]
    assert sim.hub.connections[client.conn_id].log.by_topic[BOOK] == 417


async def test_slow_delays_every_frame_of_the_connection(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    slow, fast = await connect(sim), await connect(sim)
    await slow.request({"op": "ping", "req_id": "hello"})
    await _fault(session, sim, fault="slow", delay_ms=50, conn_id=slow.conn_id)
    topics = [f"tickers.{symbol}" for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")]
    sim.resume()
    await eventually(lambda: all(market.ticker.data for market in sim.hub.markets.values()))
    sim.pause()

    began = time.monotonic()
    await slow.send({"op": "subscribe", "args": topics, "req_id": "s"})
    await fast.subscribe(*topics)
    await eventually(lambda: len(slow.messages) == 6)
    elapsed = time.monotonic() - began

    assert elapsed >= 5 * 0.05 * 0.9
    assert len(fast.messages) == 5


async def test_a_scheduled_fault_repeats_until_cleared(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe(BOOK)
    sim.resume()
    await eventually(lambda: client.count(BOOK) > 10)
    sim.pause()

    scheduled = await _fault(session, sim, fault="snapshot", symbol="BTCUSDT", every_s=0.02)
    await eventually(lambda: client.books[BOOK].snapshots >= 4)
    cleared = await admin(session, "DELETE", f"{sim.admin_url}/faults")

    assert scheduled["scheduled"] == 1
    assert cleared == {"cleared": 1}
    assert (await admin(session, "GET", f"{sim.admin_url}/faults"))["scheduled"] == {}


@pytest.mark.parametrize(
    "spec",
    [
        {"fault": "restart", "conn_id": "abc"},
        {"fault": "teleport"},
        {"fault": "gap", "symbol": "NOPEUSDT"},
        {"fault": "gap", "conn_id": "no-such-connection"},
        {"fault": "slow"},
        {"fault": "stall", "every_s": 1},
        {"fault": "gap", "surprise": 1},
    ],
)
async def test_bad_fault_requests_are_refused(
    start: Start, session: aiohttp.ClientSession, spec: dict[str, Any]
) -> None:
    sim = await start(replay_config())

    async with session.post(f"{sim.admin_url}/faults", data=orjson.dumps(spec)) as response:
        assert response.status == 400
        assert "error" in orjson.loads(await response.read())
