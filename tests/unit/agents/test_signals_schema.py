"""The signal agent reads the feature vector the market engine publishes, analytics included."""

from __future__ import annotations

import importlib

from tradestream.app import app
from tradestream.config.files import StrategiesConfig
from tradestream.core.market import MarketBooks
from tradestream.streams import topics


def test_the_signal_desk_knows_the_layout_of_the_published_feature_vector() -> None:
    assert app is not None  # the app first: it imports the agents in their order
    signals = importlib.import_module("tradestream.agents.signals")
    books = MarketBooks(lambda: 0)

    assert books.names_id in signals.desk().schema_ids
    assert len(books.feature_names) == 99  # the 76 engine features, then 23 book analytics


def test_the_signal_agent_reads_only_what_the_enabled_strategies_need() -> None:
    signals = importlib.import_module("tradestream.agents.signals")

    def config(*kinds: str, enabled: bool = True) -> StrategiesConfig:
        return StrategiesConfig.model_validate(
            {"strategies": [
                {"name": f"s{i}", "kind": kind, "symbols": ["BTCUSDT"], "enabled": enabled}
                for i, kind in enumerate(kinds)
            ]}
        )  # fmt: skip

    assert signals.inputs_for(config()) == ()
    assert signals.inputs_for(config("supertrend", "order_book_scalper", enabled=False)) == ()
    assert signals.inputs_for(config("supertrend")) == (topics.BOOK_TOP, topics.CANDLES)
    assert signals.inputs_for(config("order_book_scalper")) == (topics.BOOK_TOP, topics.FEATURES)
    assert signals.inputs_for(config("sar_wave", "order_book_scalper")) == (
        topics.BOOK_TOP, topics.CANDLES, topics.FEATURES,
    )  # fmt: skip
