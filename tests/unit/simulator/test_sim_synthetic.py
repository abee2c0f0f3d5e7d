"""The synthetic source streams valid, recording-shaped books for any number of symbols."""

from __future__ import annotations

import time
from decimal import Decimal

import aiohttp
import pytest

from tradestream.simulator import SimulatorConfig, SyntheticSourceConfig
from tradestream.simulator.book import Book
from tradestream.simulator.events import BookEvent, TickerEvent, TradeEvent
from tradestream.simulator.pacing import Throttle
from tradestream.simulator.profile import learn
from tradestream.simulator.recording import load_recording
from tradestream.simulator.synthetic import SyntheticSource

from .conftest import Connect, Start
from .support import RECORDING, admin, eventually, within

pytestmark = pytest.mark.timeout(60)


def synthetic_config(**source: object) -> SimulatorConfig:
    settings: dict[str, object] = {"recording": (RECORDING,), "rate": 0.0, "messages": 3000}
    settings.update(source)
    return SimulatorConfig(
        port=0, start_paused=True, source=SyntheticSourceConfig.model_validate(settings)
    )


class _Collect:
    def __init__(self) -> None:
        self.events: list[BookEvent | TradeEvent | TickerEvent] = []

    def on_book(self, event: BookEvent) -> None:
        self.events.append(event)

    def on_trade(self, event: TradeEvent) -> None:
        self.events.append(event)

    def on_ticker(self, event: TickerEvent) -> None:
        self.events.append(event)

    async def flow(self) -> None:
        return None


async def _generate(seed: int, messages: int) -> list[BookEvent | TradeEvent | TickerEvent]:
    profile = learn(load_recording((RECORDING,)))
    config = SyntheticSourceConfig(recording=(RECORDING,), messages=messages, seed=seed, rate=0)
    source = SyntheticSource(profile, config, depth=200, wall_ms=lambda: 1)
    sink = _Collect()
    await source.run(sink, Throttle(0.0, sink.flow))
    return sink.events


async def test_books_stay_valid_contiguous_and_equal_to_the_server(
    start: Start, connect: Connect, session: aiohttp.ClientSession
) -> None:
    sim = await start(synthetic_config(symbols=6))
    client = await connect(sim)
    topics = [f"orderbook.{d}.{s}" for d in (1, 50, 200) for s in ("BTCUSDT", "DOGE2USDT")]
    await client.subscribe(*topics, "publicTrade.BTCUSDT", "tickers.DOGE2USDT")

    sim.resume()
    await within(sim.source_done(), 30)
    conn = sim.hub.connections[client.conn_id]
    await eventually(lambda: conn.backlog == 0 and len(client.raw) == conn.log.frames)

    assert sim.symbols[4:] == ("BTC2USDT", "DOGE2USDT")
    for topic in topics:
        depth, symbol = int(topic.split(".")[1]), topic.split(".")[2]
        book = client.books[topic]
        assert (book.gaps, book.crossed) == ([], 0), topic
        assert book.deepest <= depth
        server = await admin(session, "GET", f"{sim.admin_url}/book/{symbol}?depth={depth}")
        assert book.top(depth) == {"bids": server["bids"], "asks": server["asks"]}, topic
        assert len(client.on(topic)) > 20
    trades = [t for m in client.on("publicTrade.BTCUSDT") for t in m["data"]]
    assert trades
    assert all(Decimal(t["p"]) % Decimal("0.1") == 0 for t in trades)
    assert client.on("tickers.DOGE2USDT")[0]["data"]["symbol"] == "DOGE2USDT"


async def test_the_same_seed_generates_the_same_stream() -> None:
    first, second, other = await _generate(7, 500), await _generate(7, 500), await _generate(8, 500)

    assert first == second
    assert first != other


async def test_the_message_mix_follows_the_recording() -> None:
    events = await _generate(1, 4000)

    books = sum(isinstance(event, BookEvent) for event in events) / len(events)
    trades = sum(isinstance(event, TradeEvent) for event in events) / len(events)
    assert 0.55 < books < 0.75
    assert 0.02 < trades < 0.07


async def test_the_rate_limits_messages_per_second(start: Start) -> None:
    sim = await start(synthetic_config(rate=4000.0, messages=400))

    began = time.monotonic()
    sim.resume()
    await within(sim.source_done(), 10)

    assert time.monotonic() - began >= 0.09
    assert sum(sim.hub.produced.values()) == 400 + 2 * 4


async def test_a_long_run_never_crosses_never_empties_and_never_overfills() -> None:
    events = await _generate(3, 20_000)
    books: dict[str, Book] = {}
    depths: list[int] = []

    for event in events:
        if not isinstance(event, BookEvent):
            continue
        book = books.setdefault(event.symbol, Book())
        if event.snapshot:
            book.replace(event.bids, event.asks)
        else:
            book.apply(event.bids, event.asks)
        best_bid, best_ask = book.bids.best(), book.asks.best()
        assert best_bid is not None
        assert best_ask is not None
        assert best_bid + best_ask > 0, f"{event.symbol} crossed"
        depths.extend((len(book.bids), len(book.asks)))

    assert min(depths) >= 20
    assert max(depths) <= 200
