"""Correlation limits: configured groups and a measured matrix, both direction-aware."""

from __future__ import annotations

import math

import pytest

from tests.support.trading import account, context, pending_order, position, proposed
from tradestream.core.risk import CorrelatedGroupLimit, CorrelationLimit, Correlations
from tradestream.schemas.orders import Side

BUY, SELL = Side.BUY, Side.SELL
GROUPS = {"layer1": ("SOLUSDT", "AVAXUSDT", "NEARUSDT", "APTUSDT")}


def test_a_group_holds_at_most_the_limit_on_one_side() -> None:
    rule = CorrelatedGroupLimit(GROUPS, limit=2)
    two_long = context(account(position("SOLUSDT", "1")), pending=(pending_order("AVAXUSDT", BUY),))

    found = rule.check(proposed(BUY, symbol="NEARUSDT"), two_long)

    assert found is not None
    assert found.rule == "correlated_group"
    assert "layer1 already holds SOLUSDT, AVAXUSDT" in found.reason
    assert rule.check(proposed(SELL, symbol="NEARUSDT"), two_long) is None  # hedges
    assert rule.check(proposed(BUY, symbol="BTCUSDT"), two_long) is None  # in no group
    assert rule.check(proposed(BUY, 1, before=1, symbol="SOLUSDT"), two_long) is None  # an add


def test_a_flip_is_a_new_position_for_the_group() -> None:
    rule = CorrelatedGroupLimit(GROUPS, limit=1)
    held = context(account(position("SOLUSDT", "-1"), position("AVAXUSDT", "2")))

    found = rule.check(proposed(BUY, 2, before=-1, symbol="SOLUSDT"), held)

    assert found is not None
    assert "AVAXUSDT" in found.reason


def test_the_matrix_counts_open_positions_that_move_with_the_new_one() -> None:
    matrix = Correlations(
        {
            ("BTCUSDT", "ETHUSDT"): 0.9,
            ("BTCUSDT", "SOLUSDT"): 0.75,
            ("BTCUSDT", "DOGEUSDT"): 0.65,
        }
    )
    rule = CorrelationLimit(0.7, 2, matrix)
    held = context(
        account(position("ETHUSDT", "1"), position("SOLUSDT", "1"), position("DOGEUSDT", "1"))
    )

    found = rule.check(proposed(BUY, symbol="BTCUSDT"), held)

    assert found is not None
    assert found.rule == "correlation"
    assert "ETHUSDT, SOLUSDT" in found.reason
    assert "DOGEUSDT" not in found.reason
    assert rule.check(proposed(SELL, symbol="BTCUSDT"), held) is None  # a short hedges longs
    assert CorrelationLimit(0.7, 3, matrix).check(proposed(BUY, symbol="BTCUSDT"), held) is None


def test_a_negative_correlation_with_an_opposite_position_counts() -> None:
    rule = CorrelationLimit(0.7, 1, Correlations({("BTCUSDT", "XAUTUSDT"): -0.8}))
    held = context(account(position("XAUTUSDT", "-1")))

    assert rule.check(proposed(BUY, symbol="BTCUSDT"), held) is not None


def test_unknown_pairs_and_an_empty_matrix_refuse_nothing() -> None:
    held = context(account(position("ETHUSDT", "1")))

    assert CorrelationLimit(0.7, 1).check(proposed(BUY, symbol="BTCUSDT"), held) is None


def test_correlations_come_from_rolling_returns() -> None:
    up = [0.01, -0.02, 0.015, 0.0, 0.03]
    matrix = Correlations.from_returns(
        {
            "BTCUSDT": up,
            "ETHUSDT": [2 * r for r in up],
            "SOLUSDT": [-r for r in up[-3:]],
            "FLATUSDT": [0.0] * 5,
            "NEWUSDT": [0.01, 0.02],
        }
    )

    eth = matrix.get("BTCUSDT", "ETHUSDT")
    sol = matrix.get("SOLUSDT", "BTCUSDT")
    assert eth is not None
    assert math.isclose(eth, 1.0)
    assert sol is not None
    assert math.isclose(sol, -1.0)
    assert matrix.get("BTCUSDT", "FLATUSDT") is None  # no variance, no correlation
    assert matrix.get("BTCUSDT", "NEWUSDT") is None  # too few samples
    assert matrix.get("BTCUSDT", "BTCUSDT") == 1.0


@pytest.mark.parametrize("pair", [(("A", "A"), 0.5), (("A", "B"), 1.5)])
def test_a_correlation_must_be_between_two_symbols_and_within_one(
    pair: tuple[tuple[str, str], float],
) -> None:
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        Correlations(dict([pair]))
