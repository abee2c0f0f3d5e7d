"""The simulator's klines: built exactly from its own trades, pushed and served as Bybit does."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from tradestream.exchange.klines import fetch_closed_bars, warm_up
from tradestream.simulator import BybitSimulator

from .conftest import Connect, Start, replay_config
from .support import eventually, within

pytestmark = pytest.mark.timeout(60)

Bar = dict[str, Any]


def _bars_from_trades(trades: list[dict[str, Any]], interval_ms: int) -> dict[int, Bar]:
    # The bars Bybit would make of these trades, in exact decimals, by their start.
    bars: dict[int, Bar] = {}
    for trade in trades:
        price, size = Decimal(trade["p"]), Decimal(trade["v"])
        start = trade["T"] - trade["T"] % interval_ms
        bar = bars.setdefault(
            start, {"open": price, "high": price, "low": price, "volume": 0, "turnover": 0}
        )
        bar["high"] = max(bar["high"], price)
        bar["low"] = min(bar["low"], price)
        bar["close"] = price
        bar["volume"] += size
        bar["turnover"] += price * size
    return bars


KEYS = ("open", "high", "low", "close", "volume", "turnover")


def _exact(bar: Bar) -> Bar:
    return {key: Decimal(str(bar[key])) for key in KEYS}


async def _replayed(start: Start, connect: Connect, *topics: str) -> tuple[BybitSimulator, Any]:
    sim = await start(replay_config(source={"loops": 4}))
    client = await connect(sim)
    await client.subscribe(*topics)
    sim.resume()
    await within(sim.source_done(), 30)
    conn = sim.hub.connections[client.conn_id]
    await eventually(lambda: all(client.count(t) == conn.log.by_topic[t] for t in topics))
    return sim, client


def _rest(sim: BybitSimulator) -> HTTP:
    http = HTTP(testnet=False)
    http.endpoint = sim.rest_url
    return http


async def test_every_confirmed_kline_is_the_exact_bar_of_the_trades_sent(
    start: Start, connect: Connect
) -> None:
    topics = ("publicTrade.BTCUSDT", "kline.1.BTCUSDT")
    _, client = await _replayed(start, connect, *topics)
    trades = [t for m in client.on("publicTrade.BTCUSDT") for t in m["data"]]
    expected = _bars_from_trades(trades, 60_000)
    pushes = [(m["data"][0], m["ts"]) for m in client.on("kline.1.BTCUSDT")]
    confirmed = [bar for bar, _ in pushes if bar["confirm"]]

    assert len(confirmed) >= 2
    assert len({bar["start"] for bar in confirmed}) == len(confirmed)  # each confirmed once
    for bar in confirmed:
        assert bar["end"] == bar["start"] + 59_999
        assert bar["interval"] == "1"
        assert _exact(bar) == _exact(expected[bar["start"]])
    forming = [(bar["start"], ts) for bar, ts in pushes if not bar["confirm"]]
    for (start_a, a), (start_b, b) in itertools.pairwise(forming):
        assert b - a >= 1000 or start_b != start_a  # a bar's updates at most once a second


async def test_rest_serves_every_bar_newest_first_to_pybit(start: Start, connect: Connect) -> None:
    sim, client = await _replayed(start, connect, "publicTrade.ETHUSDT")
    trades = [t for m in client.on("publicTrade.ETHUSDT") for t in m["data"]]
    http = _rest(sim)
    for interval, interval_ms in (("1", 60_000), ("5", 300_000)):
        answer = await asyncio.to_thread(
            http.get_kline, category="linear", symbol="ETHUSDT", interval=interval
        )
        rows = answer["result"]["list"]
        expected = _bars_from_trades(trades, interval_ms)
        assert [int(row[0]) for row in rows] == sorted(expected, reverse=True)
        for row in rows:
            assert _exact(dict(zip(KEYS, row[1:], strict=True))) == _exact(expected[int(row[0])])


async def test_rest_pages_backwards_with_end_and_limit(start: Start) -> None:
    sim = await start(replay_config(source={"loops": 4}))
    sim.resume()
    await within(sim.source_done(), 30)
    http = _rest(sim)
    every = await asyncio.to_thread(
        http.get_kline, category="linear", symbol="BTCUSDT", interval="1"
    )
    starts = [int(row[0]) for row in every["result"]["list"]]
    page = await asyncio.to_thread(
        http.get_kline,
        category="linear",
        symbol="BTCUSDT",
        interval="1",
        limit=1,
        end=starts[0] - 1,
    )
    assert len(starts) >= 3
    assert [int(row[0]) for row in page["result"]["list"]] == [starts[1]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"symbol": "NOPEUSDT", "interval": "1"}, "Not supported symbols"),
        ({"symbol": "BTCUSDT", "interval": "7"}, "Invalid period"),
        ({"symbol": "BTCUSDT", "interval": "1", "limit": 1001}, "limit"),
    ],
)
async def test_rest_refuses_what_bybit_refuses(
    start: Start, params: dict[str, Any], message: str
) -> None:
    sim = await start(replay_config())
    with pytest.raises(InvalidRequestError, match=message):
        await asyncio.to_thread(_rest(sim).get_kline, category="linear", **params)


async def test_warm_up_fetches_the_closed_bars_through_pybit(start: Start) -> None:
    # Recorded times, not rebased: bars ending before the answer's time (the wall clock) are
    # closed; on a clock later than the recording (2026-08-09) that is all of them.
    sim = await start(replay_config(source={"loops": 4, "rebase_time": False}))
    sim.resume()
    await within(sim.source_done(), 30)
    http = _rest(sim)
    served = await asyncio.to_thread(
        http.get_kline, category="linear", symbol="SOLUSDT", interval="1", limit=1000
    )
    starts = [int(row[0]) for row in served["result"]["list"]]
    closed = [start for start in starts if start + 60_000 <= served["time"]][::-1]

    two = await asyncio.to_thread(fetch_closed_bars, http, "SOLUSDT", "1", 2)
    fetched = await warm_up(http, ["SOLUSDT", "DOGEUSDT"], ["1", "5"], 1000)

    assert len(starts) >= 3
    assert [bar.open_ts_ms for bar in two] == closed[-2:]
    assert [bar.open_ts_ms for bar in fetched[("SOLUSDT", "1")]] == closed
    assert {bar.interval_s for bar in fetched[("DOGEUSDT", "5")]} <= {300}
    assert set(fetched) == {(s, i) for s in ("SOLUSDT", "DOGEUSDT") for i in ("1", "5")}
