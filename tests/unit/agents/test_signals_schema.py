"""The signal agent reads the feature vector the market engine publishes, analytics included."""

from __future__ import annotations

import importlib

from tradestream.app import app
from tradestream.core.market import MarketBooks


def test_the_signal_desk_knows_the_layout_of_the_published_feature_vector() -> None:
    assert app is not None  # the app first: it imports the agents in their order
    signals = importlib.import_module("tradestream.agents.signals")
    books = MarketBooks(lambda: 0)

    assert books.names_id in signals.desk().schema_ids
    assert len(books.feature_names) == 99  # the 76 engine features, then 23 book analytics
