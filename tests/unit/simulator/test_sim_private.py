"""The simulator's private side on the wire: ``/v5/private`` auth and pushes, REST rate limits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tradestream.core.clock import now_ms
from tradestream.core.resilience import BucketConfig, RateLimitConfig
from tradestream.simulator import BybitSimulator
from tradestream.simulator.exchange_config import ExchangeSideConfig
from tradestream.simulator.signing import sign

from .conftest import Start, replay_config
from .support import within

pytestmark = pytest.mark.timeout(60)

KEY, SECRET = "sim-key", "sim-secret"
Reply = tuple[dict[str, Any], Mapping[str, str]]


async def _ready(start: Start, **exchange: Any) -> BybitSimulator:
    # A simulator that has replayed its recording, so every book is filled and still.
    config = replay_config(start_paused=False, exchange=ExchangeSideConfig(**exchange))
    sim = await start(config)
    await within(sim.source_done(), 30)
    return sim


async def _rest(
    session: aiohttp.ClientSession, sim: BybitSimulator, method: str, path: str, params: Any
) -> Reply:
    stamp, window = str(now_ms()), "5000"
    payload = urlencode(params) if method == "GET" else json.dumps(params)
    headers = {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": stamp,
        "X-BAPI-RECV-WINDOW": window,
        "X-BAPI-SIGN": sign(SECRET, f"{stamp}{KEY}{window}{payload}"),
        "Content-Type": "application/json",
    }
    url = f"{sim.rest_url}{path}" + (f"?{payload}" if method == "GET" else "")
    data = None if method == "GET" else payload
    async with session.request(method, url, data=data, headers=headers) as response:
        body: dict[str, Any] = await response.json()
        return body, response.headers


async def _op(ws: aiohttp.ClientWebSocketResponse, op: str, args: list[Any]) -> dict[str, Any]:
    await ws.send_json({"op": op, "args": args, "req_id": f"{op}-1"})
    reply: dict[str, Any] = await within(ws.receive_json())
    return reply


def _auth_args(key: str = KEY, signed_with: str = SECRET, expires_in_ms: int = 5000) -> list[Any]:
    expires = now_ms() + expires_in_ms
    return [key, expires, sign(signed_with, f"GET/realtime{expires}")]


async def test_an_authenticated_client_gets_order_and_execution_pushes_for_a_fill(
    start: Start, session: aiohttp.ClientSession
) -> None:
    sim = await _ready(start)
    async with session.ws_connect(sim.private_url) as ws:
        auth = await _op(ws, "auth", _auth_args())
        assert (auth["op"], auth["success"]) == ("auth", True)
        subscribed = await _op(ws, "subscribe", ["order", "execution"])
        assert (subscribed["success"], subscribed["req_id"]) == (True, "subscribe-1")

        order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market"}
        body, _ = await _rest(session, sim, "POST", "/v5/order/create", order | {"qty": "0.05"})
        assert body["retCode"] == 0
        link_id = body["result"]["orderLinkId"]

        pushes = {}
        while set(pushes) != {"order", "execution"}:
            frame = await within(ws.receive_json())
            pushes[frame["topic"]] = frame["data"]
    [row] = pushes["order"]
    assert (row["orderLinkId"], row["orderStatus"], row["cumExecQty"]) == (
        link_id,
        "Filled",
        "0.05",
    )
    executions = pushes["execution"]
    assert {e["orderLinkId"] for e in executions} == {link_id}
    assert sum(Decimal(e["execQty"]) for e in executions) == Decimal("0.05")


@pytest.mark.parametrize(
    "case",
    [
        (KEY, "not-the-secret", 5000, "Invalid sign"),
        ("no-such-key", SECRET, 5000, "Invalid apikey"),
        (KEY, SECRET, -1000, "expires"),
    ],
    ids=["bad-signature", "unknown-key", "expired"],
)
async def test_a_bad_auth_is_refused_and_cannot_subscribe(
    start: Start, session: aiohttp.ClientSession, case: tuple[str, str, int, str]
) -> None:
    key, signed_with, expires_in_ms, refusal = case
    sim = await start(replay_config())
    async with session.ws_connect(sim.private_url) as ws:
        auth = await _op(ws, "auth", _auth_args(key, signed_with, expires_in_ms))
        assert auth["success"] is False
        assert refusal in auth["ret_msg"]
        subscribed = await _op(ws, "subscribe", ["order"])
        assert subscribed["success"] is False
        assert subscribed["ret_msg"] == "Request not authorized"


async def test_an_unknown_private_topic_is_refused(
    start: Start, session: aiohttp.ClientSession
) -> None:
    sim = await start(replay_config())
    async with session.ws_connect(sim.private_url) as ws:
        await _op(ws, "auth", _auth_args())
        subscribed = await _op(ws, "subscribe", ["order", "greeks"])
        assert subscribed["success"] is False
        assert "greeks" in subscribed["ret_msg"]


async def test_the_token_bucket_answers_10006_with_bybits_limit_headers(
    start: Start, session: aiohttp.ClientSession
) -> None:
    slow = BucketConfig(rate_per_s=0.01, burst=3)
    sim = await start(
        replay_config(exchange=ExchangeSideConfig(rate_limits=RateLimitConfig(order_query=slow)))
    )
    query = {"category": "linear", "symbol": "BTCUSDT"}
    before = now_ms()
    replies = [await _rest(session, sim, "GET", "/v5/order/realtime", query) for _ in range(4)]
    after = now_ms()

    assert [body["retCode"] for body, _ in replies] == [0, 0, 0, 10006]
    assert {headers["X-Bapi-Limit"] for _, headers in replies} == {"3"}
    assert [headers["X-Bapi-Limit-Status"] for _, headers in replies] == ["2", "1", "0", "0"]
    resets = [int(headers["X-Bapi-Limit-Reset-Timestamp"]) for _, headers in replies]
    refill_ms = 100_000  # one token at 0.01 per second
    assert all(before + refill_ms * 0.9 <= reset <= after + refill_ms for reset in resets)
    assert replies[3][0]["retMsg"] == "Too many visits!"

    other, headers = await _rest(session, sim, "GET", "/v5/position/list", query)
    assert other["retCode"] == 0
    assert headers["X-Bapi-Limit"] == "50"
