"""The feature vectors the market path publishes equal frozen outputs of the reference engine.

``tests/fixtures/features/recorded_values.json`` holds vectors written by the straightforward
engine (commit ef71ebd, before the hot-path work) at points of the recording, once publishing
after every event and once at most every 100 ms per symbol. Any optimisation of the book, the
decode or the engine must reproduce them to 12 significant digits: windowed sums come from
prefix sums that are rebased every ``capacity`` events, so skipping an all-zero event (an update
below the top N) moves a rebase and may change the last bits, never more. A deliberate change to
a feature means regenerating the file and saying why in the commit. The order-book analytics
(``core/book_analytics``) came later and are appended after the frozen engine's features: the
frozen part of each vector is compared, and the analytics have tests of their own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.recordings import ALL_TOPICS, frames
from tradestream.core.book_analytics import BookAnalytics
from tradestream.core.features import FeatureEngine
from tradestream.core.market import BookUpdate, MarketBooks, MarketConfig, names_id

FROZEN = Path(__file__).resolve().parents[3] / "fixtures" / "features" / "recorded_values.json"


def published(interval_ms: int) -> dict[int, tuple[str, list[float]]]:
    books = MarketBooks(clock=lambda: 0, config=MarketConfig(features_interval_ms=interval_ms))
    out: dict[int, tuple[str, list[float]]] = {}
    for index, raw in enumerate(frames(ALL_TOPICS)):
        update: BookUpdate | None
        if raw.startswith(b'{"topic":"orderbook'):
            update = books.apply(raw, 1)
        elif raw.startswith(b'{"topic":"publicTrade'):
            update = books.apply_trades(raw, 1)
        else:
            continue
        if update is not None and update.features is not None:
            out[index] = (update.features.symbol, update.features.values)
    return out


@pytest.fixture(scope="module")
def frozen() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FROZEN.read_text())
    return data


@pytest.mark.parametrize("interval_ms", [0, 100])
def test_published_vectors_equal_the_frozen_ones(frozen: dict[str, Any], interval_ms: int) -> None:
    points = frozen[f"interval_{interval_ms}ms"]
    got = published(interval_ms)
    assert len(points) >= 30
    for point in points:
        symbol, values = got[point["frame"]]
        values = values[: len(point["values"])]
        assert symbol == point["symbol"]
        expected = pytest.approx(point["values"], rel=1e-12, abs=1e-9)
        assert values == expected, f"frame {point['frame']} {symbol}"


def test_schema_is_the_frozen_engine_then_the_analytics(frozen: dict[str, Any]) -> None:
    books = MarketBooks(clock=lambda: 0)
    engine_names = FeatureEngine(books.config.features).names
    assert names_id(engine_names) == frozen["names_id"]
    assert books.feature_names == engine_names + BookAnalytics(books.config.analytics).names
