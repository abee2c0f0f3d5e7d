"""The public stream answers ops exactly as Bybit's linear public WebSocket does."""

from __future__ import annotations

import asyncio
import re

import orjson
import pytest

from .conftest import Connect, Start, replay_config
from .support import eventually, within

pytestmark = pytest.mark.timeout(30)

CONN_ID = re.compile(r"^[0-9a-v]{20}-[0-9a-f]+$")


async def test_subscribe_is_acknowledged_in_bybit_shape(start: Start, connect: Connect) -> None:
    sim = await start(replay_config())
    client = await connect(sim)

    ack = await client.subscribe("orderbook.200.BTCUSDT", "publicTrade.BTCUSDT", req_id="r1")

    assert ack == {
        "success": True,
        "ret_msg": "",
        "conn_id": ack["conn_id"],
        "req_id": "r1",
        "op": "subscribe",
    }
    assert CONN_ID.match(ack["conn_id"])
    assert list(orjson.loads(client.raw[0])) == ["success", "ret_msg", "conn_id", "req_id", "op"]


async def test_a_request_without_req_id_is_answered_with_an_empty_one(
    start: Start, connect: Connect
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)

    await client.send({"op": "subscribe", "args": ["tickers.ETHUSDT"]})
    await client.send({"op": "ping"})

    await eventually(lambda: len(client.messages) == 2)
    assert [(m["op"], m["req_id"], m["success"]) for m in client.messages] == [
        ("subscribe", "", True),
        ("ping", "", True),
    ]


async def test_ping_gets_bybits_pong(start: Start, connect: Connect) -> None:
    sim = await start(replay_config())
    client = await connect(sim)

    pong = await client.request({"op": "ping", "req_id": "p1"})

    assert pong == {
        "success": True,
        "ret_msg": "pong",
        "conn_id": pong["conn_id"],
        "req_id": "p1",
        "op": "ping",
    }


@pytest.mark.parametrize(
    ("topic", "ret_msg"),
    [
        ("orderbook.200.NOPEUSDT", "Invalid symbol :[orderbook.200.NOPEUSDT]"),
        ("tickers.NOPEUSDT", "Invalid symbol :[tickers.NOPEUSDT]"),
        ("orderbook.1000.BTCUSDT", "error:handler not found,topic:orderbook.1000.BTCUSDT"),
        ("orderbook.x.BTCUSDT", "error:handler not found,topic:orderbook.x.BTCUSDT"),
        ("liquidation.BTCUSDT", "error:handler not found,topic:liquidation.BTCUSDT"),
        ("kline.3.BTCUSDT", "error:handler not found,topic:kline.3.BTCUSDT"),
        ("kline.1.NOPEUSDT", "Invalid symbol :[kline.1.NOPEUSDT]"),
    ],
)
async def test_unknown_topics_are_refused_and_nothing_is_subscribed(
    start: Start, connect: Connect, topic: str, ret_msg: str
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)

    reply = await client.subscribe("orderbook.200.BTCUSDT", topic, req_id="bad")

    assert reply == {
        "success": False,
        "ret_msg": ret_msg,
        "conn_id": reply["conn_id"],
        "req_id": "bad",
        "op": "subscribe",
    }
    assert sim.hub.connections[reply["conn_id"]].topics == set()


async def test_subscribing_twice_is_refused(start: Start, connect: Connect) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe("tickers.SOLUSDT", req_id="first")

    reply = await client.subscribe("tickers.SOLUSDT", req_id="again")

    assert reply["success"] is False
    assert reply["ret_msg"] == "error:already subscribed,topic:tickers.SOLUSDT"


@pytest.mark.parametrize(
    ("raw", "ret_msg"),
    [
        (b"not json", "error:request is not valid JSON"),
        (b"[1, 2]", "error:request must be a JSON object"),
        (b'{"op":"subscribe","args":[]}', "error:args must be a non-empty list of topics"),
        (b'{"op":"auth","req_id":"e"}', "error:unsupported op: auth"),
    ],
)
async def test_bad_requests_get_an_error_reply(
    start: Start, connect: Connect, raw: bytes, ret_msg: str
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)

    await client.ws.send_bytes(raw)

    await eventually(lambda: len(client.messages) == 1)
    assert client.messages[0]["success"] is False
    assert client.messages[0]["ret_msg"] == ret_msg


async def test_unsubscribe_is_acknowledged_and_stops_the_topic(
    start: Start, connect: Connect
) -> None:
    sim = await start(replay_config())
    client = await connect(sim)
    await client.subscribe("tickers.BTCUSDT", "tickers.ETHUSDT")

    ack = await client.request({"op": "unsubscribe", "args": ["tickers.BTCUSDT"], "req_id": "u1"})
    sim.resume()
    await within(sim.source_done())

    assert ack == {
        "success": True,
        "ret_msg": "",
        "conn_id": ack["conn_id"],
        "req_id": "u1",
        "op": "unsubscribe",
    }
    await eventually(lambda: client.count("tickers.ETHUSDT") == 216)
    assert client.count("tickers.BTCUSDT") == 0


async def test_a_connection_that_stops_pinging_is_cut_off(start: Start, connect: Connect) -> None:
    sim = await start(replay_config(idle_timeout_s=0.3))
    quiet = await connect(sim)
    pinging = await connect(sim)

    pongs = 0
    while not quiet.closed.is_set():
        await pinging.request({"op": "ping", "req_id": f"keep{pongs}"})
        pongs += 1
        await asyncio.sleep(0.05)

    assert quiet.close_code == 1000
    assert pongs >= 4
    assert not pinging.closed.is_set()
