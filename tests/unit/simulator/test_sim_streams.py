"""Books, trades and tickers stream like Bybit's: snapshot first, contiguous deltas, no loss."""

from __future__ import annotations

import time
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tradestream.simulator import BybitSimulator

from .conftest import Connect, Start, replay_config
from .support import Client, admin, eventually, within

pytestmark = pytest.mark.timeout(60)

BTC_BOOK_FRAMES = 414
"""orderbook.200.BTCUSDT frames in the recording: one snapshot and 413 deltas."""
BTC_TRADE_FRAMES = 16


async def _server_book(
    session: aiohttp.ClientSession, sim: BybitSimulator, symbol: str, depth: int
) -> dict[str, Any]:
    return dict(await admin(session, "GET", f"{sim.admin_url}/book/{symbol}?depth={depth}"))


def _sent(sim: BybitSimulator, client: Client, topic: str) -> int:
    conn = sim.hub.connections[client.conn_id]
    return conn.log.by_topic[topic]


def _gone(sim: BybitSimulator, conn_id: str) -> bool:
    return conn_id not in sim.hub.connections


def _drained(sim: BybitSimulator, client: Client) -> bool:
    conn = sim.hub.connections[client.conn_id]
    return conn.backlog == 0 and len(client.raw) == conn.log.frames


async def _run_to_end(sim: BybitSimulator, client: Client, topic: str) -> None:
    sim.resume()
    await within(sim.source_done(), 30)
    await eventually(lambda: client.count(topic) == _sent(sim, client, topic))


async def test_a_book_starts_with_a_snapshot_then_contiguous_deltas(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe("orderbook.200.BTCUSDT")

    await _run_to_end(sim, client, "orderbook.200.BTCUSDT")

    frames = client.on("orderbook.200.BTCUSDT")
    assert len(frames) == BTC_BOOK_FRAMES
    assert [m["type"] for m in frames[:2]] == ["snapshot", "delta"]
    assert {m["type"] for m in frames[1:]} == {"delta"}
    assert [m["data"]["u"] for m in frames] == list(
        range(frames[0]["data"]["u"], frames[0]["data"]["u"] + BTC_BOOK_FRAMES)
    )
    assert list(frames[0]) == ["topic", "type", "ts", "data", "cts"]
    assert list(frames[1]["data"]) == ["s", "b", "a", "u", "seq"]
    book = client.books["orderbook.200.BTCUSDT"]
    server = await _server_book(session, sim, "BTCUSDT", 200)
    assert book.top(200) == {"bids": server["bids"], "asks": server["asks"]}
    assert server["bids"][0] == ["65114.20", book.bids["65114.20"]]
    assert server["asks"][0][0] == "65114.30"


@pytest.mark.parametrize("depth", [1, 50, 200])
async def test_a_subscriber_joining_mid_stream_gets_the_current_book(
    start: Start, connect: Connect, session: aiohttp.ClientSession, depth: int
) -> None:
    sim = await start(replay_config())
    topic = f"orderbook.{depth}.ETHUSDT"
    sim.resume()
    await eventually(lambda: sim.hub.produced["book"] > 600)
    sim.pause()
    client = await connect(sim)

    await client.subscribe(topic)
    await eventually(lambda: client.count(topic) == 1)
    snapshot = client.on(topic)[0]
    server = await _server_book(session, sim, "ETHUSDT", depth)
    await _run_to_end(sim, client, topic)

    assert snapshot["type"] == "snapshot"
    assert snapshot["data"]["u"] == server["u"]
    assert [snapshot["data"]["b"], snapshot["data"]["a"]] == [server["bids"], server["asks"]]
    assert len(snapshot["data"]["b"]) == depth
    book = client.books[topic]
    assert book.gaps == []
    assert book.top(depth) == {
        key: value
        for key, value in (await _server_book(session, sim, "ETHUSDT", depth)).items()
        if key in ("bids", "asks")
    }


async def test_derived_depths_stay_capped_and_follow_the_deepest_book(
    start: Start, connect: Connect
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    topics = [f"orderbook.{depth}.SOLUSDT" for depth in (1, 50, 200)]
    await client.subscribe(*topics)

    await _run_to_end(sim, client, topics[0])
    await eventually(lambda: all(client.count(t) == _sent(sim, client, t) for t in topics))

    deep = client.books[topics[2]]
    for depth, topic in zip((1, 50), topics, strict=False):
        book = client.books[topic]
        assert book.gaps == []
        assert max(len(book.bids), len(book.asks)) <= depth
        assert book.top(depth) == deep.top(depth)
    assert {m["type"] for m in client.on(topics[0])} == {"snapshot"}
    top_us = [m["data"]["u"] for m in client.on(topics[0])]
    assert top_us == list(range(top_us[0], top_us[0] + len(top_us)))


async def test_replay_loops_continue_u_seq_and_time(start: Start, connect: Connect) -> None:
    sim = await start(replay_config(source={"loops": 3}))
    client = await connect(sim)
    await client.subscribe("orderbook.200.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT")

    await _run_to_end(sim, client, "orderbook.200.BTCUSDT")
    tickers = "tickers.BTCUSDT"
    await eventually(lambda: client.count(tickers) == _sent(sim, client, tickers))

    books = client.on("orderbook.200.BTCUSDT")
    assert len(books) == 3 * BTC_BOOK_FRAMES
    assert [m["type"] for m in books].count("snapshot") == 1
    assert client.books["orderbook.200.BTCUSDT"].gaps == []
    _assert_rising([m["data"]["seq"] for m in books], strictly=True)
    _assert_rising([m["ts"] for m in books])
    assert client.count("publicTrade.BTCUSDT") == 3 * BTC_TRADE_FRAMES
    trades = [trade for m in client.on("publicTrade.BTCUSDT") for trade in m["data"]]
    assert len({trade["i"] for trade in trades}) == len(trades)
    _assert_rising([trade["seq"] for trade in trades])
    _assert_rising([trade["T"] for trade in trades])
    ticker_frames = client.on(tickers)
    assert [m["type"] for m in ticker_frames].count("snapshot") == 1
    _assert_rising([m["cs"] for m in ticker_frames], strictly=True)


def _assert_rising(values: list[int], *, strictly: bool = False) -> None:
    pairs = list(pairwise(values))
    assert all(b > a if strictly else b >= a for a, b in pairs), "sequence went backwards"


async def test_symbols_are_multiplied_by_renaming_on_the_same_price_grid(
    start: Start, connect: Connect
) -> None:
    sim = await start(replay_config(source={"symbols": 10}))
    client = await connect(sim)
    await client.subscribe("orderbook.200.BTCUSDT", "orderbook.200.BTC3USDT", "tickers.DOGE3USDT")

    await _run_to_end(sim, client, "orderbook.200.BTC3USDT")

    assert sim.symbols == (
        "BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT",
        "BTC2USDT", "DOGE2USDT", "ETH2USDT", "SOL2USDT",
        "BTC3USDT", "DOGE3USDT",
    )  # fmt: skip
    original, copy = client.books["orderbook.200.BTCUSDT"], client.books["orderbook.200.BTC3USDT"]
    assert copy.top(200) == original.top(200)
    assert {m["data"]["s"] for m in client.on("orderbook.200.BTC3USDT")} == {"BTC3USDT"}
    first = client.raw.index(next(r for r in client.raw if b"orderbook.200.BTC3USDT" in r))
    assert client.raw[first].replace(b"BTC3USDT", b"BTCUSDT") in client.raw
    assert {m["data"]["symbol"] for m in client.on("tickers.DOGE3USDT")} == {"DOGE3USDT"}


async def test_the_sent_log_matches_what_clients_received(
    start: Start, connect: Connect, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    sim = await start(replay_config(source={"symbols": 6}, frame_log_dir=tmp_path))
    first, second = await connect(sim), await connect(sim)
    await first.subscribe(*(f"orderbook.{d}.{s}" for d in (1, 50, 200) for s in sim.symbols))
    await second.subscribe(*(f"{t}.{s}" for t in ("publicTrade", "tickers") for s in sim.symbols))
    await second.request({"op": "ping", "req_id": "p"})

    sim.resume()
    await within(sim.source_done(), 30)
    await eventually(lambda: all(_drained(sim, client) for client in (first, second)))
    stats = await admin(session, "GET", f"{sim.admin_url}/stats")
    by_id = {conn["conn_id"]: conn for conn in stats["connections"]}

    for client in (first, second):
        received: dict[str, int] = {}
        for message in client.messages:
            key = message.get("topic") or f"op:{message['op']}"
            received[key] = received.get(key, 0) + 1
        assert received == by_id[client.conn_id]["frames_by_topic"]
        assert by_id[client.conn_id]["frames_sent"] == len(client.raw)
        url = f"{sim.admin_url}/connections/{client.conn_id}/frames?limit=100000"
        kept = await admin(session, "GET", url)
        assert [frame.encode() for frame in kept["frames"]] == client.raw
        await client.close()
        await eventually(partial(_gone, sim, client.conn_id))
        assert (tmp_path / f"{client.conn_id}.ndjson").read_bytes().splitlines() == client.raw
    assert sum(orjson.loads(r).get("topic", "").startswith("orderbook.1.") for r in first.raw) > 0


async def test_a_client_that_stops_reading_is_cut_off_while_others_go_on(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    config = replay_config(backlog_limit=20, slow_consumer_s=0.3, source={"loops": 0, "symbols": 8})
    sim = await start(config)
    reader = await connect(sim)
    books = [f"orderbook.200.{symbol}" for symbol in sim.symbols]
    await reader.subscribe(*books)
    stuck = await session.ws_connect(sim.url)
    try:
        await stuck.send_str(orjson.dumps({"op": "subscribe", "args": books}).decode())
        await eventually(lambda: len(sim.hub.connections) == 2)
        (stuck_id,) = set(sim.hub.connections) - {reader.conn_id}

        sim.resume()
        await eventually(lambda: stuck_id not in sim.hub.connections, within=20)
        count = len(reader.raw)
        await eventually(lambda: len(reader.raw) > count + 100)
    finally:
        await stuck.close()

    assert not reader.closed.is_set()


async def test_a_quiet_level_one_top_is_resent_with_the_same_u(
    start: Start, connect: Connect
) -> None:
    sim = await start(replay_config(top_refresh_s=0.05))
    sim.resume()
    await eventually(lambda: sim.hub.markets["DOGEUSDT"].ready)
    sim.pause()
    client = await connect(sim)

    await client.subscribe("orderbook.1.DOGEUSDT")
    await eventually(lambda: client.count("orderbook.1.DOGEUSDT") >= 3)

    frames = client.on("orderbook.1.DOGEUSDT")
    assert {m["type"] for m in frames} == {"snapshot"}
    assert len({m["data"]["u"] for m in frames}) == 1
    assert len({orjson.dumps(m["data"]) for m in frames}) == 1


async def test_a_replay_keeps_the_recorded_pace_scaled_by_speed(start: Start) -> None:
    sim = await start(replay_config(source={"speed": 40.0}))

    began = time.monotonic()
    sim.resume()
    await within(sim.source_done(), 20)

    recorded_s = 44.0
    assert time.monotonic() - began >= recorded_s / 40.0 * 0.9
