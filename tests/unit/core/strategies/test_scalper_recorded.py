"""The recording through the feature engine, the book analytics and the scalper: names all meet."""

from __future__ import annotations

import orjson
import pytest

from tests.support.recordings import ALL_TOPICS, frames
from tradestream.core.book_analytics import BookAnalytics
from tradestream.core.features import FeatureEngine
from tradestream.core.order_book import OrderBook
from tradestream.core.strategies.scalper import OrderBookScalper, OrderBookScalperConfig
from tradestream.schemas.bybit import orderbook_decoder


def test_scalper_reads_real_feature_vectors() -> None:
    if not ALL_TOPICS.exists():
        pytest.skip(f"recording missing: {ALL_TOPICS}")
    scalper = OrderBookScalper(config=OrderBookScalperConfig(require_trigger=False))
    books: dict[str, tuple[OrderBook, FeatureEngine, BookAnalytics]] = {}
    judged = signals = 0
    for raw in frames(ALL_TOPICS):
        frame = orjson.loads(raw)
        topic = frame.get("topic", "")
        if not topic.startswith("orderbook."):
            continue
        symbol = topic.rsplit(".", 1)[-1]
        book, engine, analytics = books.setdefault(
            symbol, (OrderBook(symbol, 200), FeatureEngine(), BookAnalytics())
        )
        decoded = orderbook_decoder.decode(raw)
        data = decoded.data
        apply = book.on_snapshot if decoded.type == "snapshot" else book.on_delta
        apply(data.u, data.seq, decoded.ts, data.b, data.a)
        bids, asks = book.bids.top_lists(50), book.asks.top_lists(50)
        engine.on_book(decoded.ts, bids[0][:20], bids[1][:20], asks[0][:20], asks[1][:20])
        analytics.on_book(decoded.ts, *bids, *asks)
        features = engine.as_dict() | analytics.as_dict()
        signals += scalper.on_features(symbol, decoded.ts, features) is not None
        judged += 1
    assert judged > 1_000
    assert sum(scalper.skipped.values()) + signals == judged  # every silence has a reason
