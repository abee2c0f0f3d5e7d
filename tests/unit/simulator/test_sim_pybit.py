"""pybit's own public WebSocket client runs unmodified against the simulator.

pybit 5.x builds its public URL from ``pybit.unified_trading.PUBLIC_WSS``
(``wss://{SUBDOMAIN}.{DOMAIN}.com/v5/public/{CHANNEL_TYPE}``): its ``domain``/``tld`` options
can only choose another ``*.com`` host over TLS, so the test points that module constant at the
simulator instead. Nothing else in pybit is touched. The simulator answers ops after 20 ms, as a
network would: pybit stores a subscription only after sending it and fails on an ack that beats
it there.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import aiohttp
import pytest
from pybit import unified_trading

from .conftest import Start, replay_config
from .support import admin, eventually, within

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")


class _Received:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_topic: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, message: dict[str, Any]) -> None:
        snapshot = {**message, "data": _copy(message["data"])}
        with self._lock:
            self.by_topic.setdefault(message["topic"], []).append(snapshot)

    def count(self, topic: str) -> int:
        with self._lock:
            return len(self.by_topic.get(topic, []))

    def last(self, topic: str) -> dict[str, Any]:
        with self._lock:
            return self.by_topic[topic][-1]


def _in_daemon_thread(call: Callable[[], T]) -> asyncio.Future[T]:
    # pybit blocks (connects, waits for the socket) in its calls; a daemon thread keeps a stuck
    # call from holding up the event loop's shutdown or the interpreter's exit.
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = call()
        except Exception as exc:  # handed to the awaiting test
            loop.call_soon_threadsafe(_fail, future, exc)
        else:
            loop.call_soon_threadsafe(_resolve, future, result)

    threading.Thread(target=run, name="pybit-call", daemon=True).start()
    return future


def _resolve(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[T], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


def _caught_up(received: _Received, sent: Counter[str], topic: str) -> bool:
    return received.count(topic) == sent[topic]


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_copy(value) for value in data]
    return data


async def test_pybit_subscribes_and_keeps_the_servers_book(
    start: Start, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = await start(replay_config(op_latency_ms=20))
    url = sim.url.replace("/linear", "/{CHANNEL_TYPE}")
    monkeypatch.setattr(unified_trading, "PUBLIC_WSS", url)
    received = _Received()
    connecting = _in_daemon_thread(
        partial(unified_trading.WebSocket, channel_type="linear", testnet=False)
    )
    ws = await within(connecting)
    try:
        await within(_in_daemon_thread(partial(ws.orderbook_stream, 50, "BTCUSDT", received)))
        await within(_in_daemon_thread(partial(ws.trade_stream, "BTCUSDT", received)))
        await eventually(lambda: sum(len(c.topics) for c in sim.hub.connections.values()) == 2)
        conn = next(iter(sim.hub.connections.values()))
        await eventually(lambda: conn.log.by_topic["op:subscribe"] == 2)

        sim.resume()
        await within(sim.source_done(), 30)
        for topic in ("orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"):
            await eventually(partial(_caught_up, received, conn.log.by_topic, topic), within=10)
        server = await admin(session, "GET", f"{sim.admin_url}/book/BTCUSDT?depth=50")
    finally:
        await within(_in_daemon_thread(ws.exit))

    book = received.last("orderbook.50.BTCUSDT")["data"]
    assert sorted(book["b"], key=lambda level: -Decimal(level[0])) == server["bids"]
    assert sorted(book["a"], key=lambda level: Decimal(level[0])) == server["asks"]
    assert book["u"] == server["u"]
    assert received.count("publicTrade.BTCUSDT") == 16
