"""The whole Bybit recording through one ``BookAnalytics`` per symbol: runs, finite, sane ranges."""

from __future__ import annotations

import math

import orjson
import pytest

from tests.support.recordings import ALL_TOPICS, frames
from tradestream.core.book_analytics import AnalyticsConfig, BookAnalytics
from tradestream.core.order_book import OrderBook
from tradestream.schemas.bybit import orderbook_decoder

FLAGS = ("cluster_breakout_up", "cluster_breakout_down", "layering_bid", "layering_ask")
SHARES = ("trade_poc_share_60s", "trade_support_share_60s", "trade_resistance_share_60s")
NON_NEGATIVE = (
    "cluster_bid_px_dist_bps",
    "cluster_ask_px_dist_bps",
    "trade_support_dist_bps_60s",
    "trade_resistance_dist_bps_60s",
    "absorption_bid_ratio",
    "absorption_ask_ratio",
    "spoof_events_60s",
)


@pytest.fixture(scope="module")
def readings() -> list[dict[str, float]]:
    if not ALL_TOPICS.exists():
        pytest.skip(f"recording missing: {ALL_TOPICS}")
    config = AnalyticsConfig()
    books: dict[str, OrderBook] = {}
    analytics: dict[str, BookAnalytics] = {}
    out = []
    for raw in frames(ALL_TOPICS):
        topic = orjson.loads(raw).get("topic", "")
        symbol = topic.rsplit(".", 1)[-1]
        engine = analytics.setdefault(symbol, BookAnalytics(config))
        if topic.startswith("orderbook."):
            frame = orderbook_decoder.decode(raw)
            book = books.setdefault(symbol, OrderBook(symbol, 200))
            data = frame.data
            if frame.type == "snapshot":
                book.on_snapshot(data.u, data.seq, frame.ts, data.b, data.a)
                engine.reset_book()
            else:
                book.on_delta(data.u, data.seq, frame.ts, data.b, data.a)
            bids = book.bids.top_lists(config.levels)
            asks = book.asks.top_lists(config.levels)
            engine.on_book(frame.ts, bids[0], bids[1], asks[0], asks[1])
        elif topic.startswith("publicTrade."):
            for trade in orjson.loads(raw)["data"]:
                engine.on_trade(
                    trade["T"], float(trade["p"]), float(trade["v"]), trade["S"] == "Buy"
                )
        else:
            continue
        out.append(engine.as_dict())
    return out


def test_every_value_is_finite(readings: list[dict[str, float]]) -> None:
    assert len(readings) > 1_500
    assert all(math.isfinite(v) for reading in readings for v in reading.values())


def test_values_stay_in_their_ranges(readings: list[dict[str, float]]) -> None:
    for reading in readings:
        assert all(reading[name] in (0.0, 1.0) for name in FLAGS)
        assert all(0.0 <= reading[name] <= 1.0 + 1e-9 for name in SHARES)
        assert all(reading[name] >= 0.0 for name in NON_NEGATIVE)
        ratio = reading["cluster_bid_size_ratio"]
        assert ratio == 0.0 or ratio > 4.0


def test_real_books_show_clusters_and_trade_levels(readings: list[dict[str, float]]) -> None:
    assert any(r["cluster_bid_count"] > 0 and r["cluster_ask_count"] > 0 for r in readings)
    assert any(r["trade_poc_share_60s"] > 0 for r in readings)
