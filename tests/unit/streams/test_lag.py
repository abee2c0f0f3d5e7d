"""Which consumer groups' lag counts for which topic."""

from __future__ import annotations

import pytest

from tradestream.config.settings import Settings
from tradestream.streams.lag import consumer_groups


@pytest.mark.parametrize(
    ("topic", "groups"),
    [
        ("ns.md.orderbook.raw", ["ns.tradestream.market"]),
        ("ns.md.trades.raw", ["ns.tradestream.market", "ns.tradestream"]),
        ("ns.md.book.top", ["ns.tradestream"]),
        ("ns.md.features", ["ns.tradestream"]),
    ],
)
def test_raw_topics_count_the_market_engines_group(topic: str, groups: list[str]) -> None:
    assert consumer_groups(Settings(namespace="ns"), topic) == groups


def test_only_the_roles_that_run_count() -> None:
    market_only = Settings(namespace="ns", roles=("market",))
    assert consumer_groups(market_only, "ns.md.trades.raw") == ["ns.tradestream.market"]
