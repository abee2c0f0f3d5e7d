"""The whole Bybit recording through one engine per symbol: finite values, hand-checked end state.

A naive dict book (price string -> size string) turns the raw ``orderbook.200`` frames into the
top-20 lists the engine takes, independently of the project's order book.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import orjson
import pytest

from tests.support.recordings import ALL_TOPICS, FINAL_BOOKS, RECORDED_TRADES, frames
from tradestream.core.features import FeatureEngine

DEPTH = 20


@dataclass
class NaiveBook:
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)

    def apply(self, frame: dict[str, object]) -> None:
        data = frame["data"]
        assert isinstance(data, dict)
        if frame["type"] == "snapshot":
            self.bids.clear()
            self.asks.clear()
        for side, updates in ((self.bids, data["b"]), (self.asks, data["a"])):
            for price, size in updates:
                if float(size) == 0.0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def top(self, is_bid: bool) -> tuple[list[float], list[float]]:
        levels = sorted(
            ((float(p), float(q)) for p, q in (self.bids if is_bid else self.asks).items()),
            reverse=is_bid,
        )[:DEPTH]
        return [p for p, _ in levels], [q for _, q in levels]


@dataclass
class Replay:
    engines: dict[str, FeatureEngine]
    books: dict[str, NaiveBook]
    non_finite: list[tuple[str, int, str]]
    events: int


@pytest.fixture(scope="module")
def replay() -> Replay:
    if not ALL_TOPICS.exists():
        pytest.skip(f"recording missing: {ALL_TOPICS}")
    engines: dict[str, FeatureEngine] = {}
    books: dict[str, NaiveBook] = {}
    non_finite: list[tuple[str, int, str]] = []
    events = 0
    for raw in frames(ALL_TOPICS):
        frame = orjson.loads(raw)
        topic = frame.get("topic", "")
        symbol = topic.rsplit(".", 1)[-1]
        engine = engines.setdefault(symbol, FeatureEngine())
        if topic.startswith("orderbook."):
            book = books.setdefault(symbol, NaiveBook())
            if frame["type"] == "snapshot":
                engine.reset_book()
            book.apply(frame)
            engine.on_book(frame["cts"], *book.top(True), *book.top(False))
        elif topic.startswith("publicTrade."):
            for trade in frame["data"]:
                engine.on_trade(
                    trade["T"], float(trade["p"]), float(trade["v"]), trade["S"] == "Buy"
                )
        else:
            continue
        events += 1
        non_finite += [
            (symbol, events, name)
            for name, value in engine.as_dict().items()
            if not math.isfinite(value)
        ]
    return Replay(engines, books, non_finite, events)


def test_every_value_is_finite_over_the_whole_recording(replay: Replay) -> None:
    assert replay.events > 1_500
    assert replay.non_finite == []


def test_final_btc_book_matches_a_hand_check(replay: Replay) -> None:
    f = replay.engines["BTCUSDT"].as_dict()
    best_bid, best_ask = (float(px) for px in FINAL_BOOKS["BTCUSDT"])
    assert (best_bid, best_ask) == (65114.2, 65114.3)
    assert f["mid"] == pytest.approx(65114.25, abs=1e-9)
    assert f["spread"] == pytest.approx(0.1, abs=1e-9)
    assert f["spread_bps"] == pytest.approx(0.1 / 65114.25 * 1e4, rel=1e-6)
    book = replay.books["BTCUSDT"]
    bid_px, bid_sz = book.top(True)
    ask_px, ask_sz = book.top(False)
    assert (bid_px[0], ask_px[0]) == (best_bid, best_ask)
    for k in (1, 5, 10, 20):
        bids, asks = sum(bid_sz[:k]), sum(ask_sz[:k])
        assert f[f"imbalance_{k}"] == pytest.approx((bids - asks) / (bids + asks))
    assert f["bid_depth_5"] == pytest.approx(sum(bid_sz[:5]))
    assert f["ask_notional_20"] == pytest.approx(
        sum(p * q for p, q in zip(ask_px, ask_sz, strict=True))
    )
    microprice = (best_ask * bid_sz[0] + best_bid * ask_sz[0]) / (bid_sz[0] + ask_sz[0])
    assert f["microprice"] == pytest.approx(microprice)


@pytest.mark.parametrize("symbol", list(FINAL_BOOKS))
def test_every_symbol_ends_on_the_recorded_best_prices(replay: Replay, symbol: str) -> None:
    f = replay.engines[symbol].as_dict()
    best_bid, best_ask = (float(px) for px in FINAL_BOOKS[symbol])
    assert f["mid"] == pytest.approx((best_bid + best_ask) / 2)
    assert f["spread"] > 0.0
    assert f["book_interval_ms"] > 0.0


def test_the_60s_windows_hold_every_recorded_trade(replay: Replay) -> None:
    # The recording lasts 44 s, so the 60 s trade windows still hold every trade.
    counted = sum(engine.as_dict()["trade_rate_60s"] * 60 for engine in replay.engines.values())
    assert counted == pytest.approx(RECORDED_TRADES)
