"""The arbiter: lowest priority number wins, the kill switch beats all, losers are counted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.core.protection.factories import T0, D
from tradestream.core.protection import (
    CloseDecision,
    ProtectionConfig,
    ProtectionRule,
    SuppressReason,
    arbitrate,
)
from tradestream.schemas.orders import Side

R = ProtectionRule
PRIORITIES = ProtectionConfig().priorities


def decision(
    rule: ProtectionRule, fraction: str = "1", priority: int | None = None
) -> CloseDecision:
    return CloseDecision(
        symbol="BTCUSDT",
        episode=T0,
        rule=rule,
        priority=PRIORITIES.get(rule, 0) if priority is None else priority,
        reason="test",
        side=Side.SELL,
        qty=Decimal(fraction),
        fraction=Decimal(fraction),
        observed_price=D(100),
        trigger_price=None,
        decided_ts_ms=T0,
    )


def test_nothing_fired_means_no_winner() -> None:
    assert arbitrate([]).winner is None


@pytest.mark.parametrize(
    ("fired", "winner"),
    [
        (
            [R.TIME_STOP, R.AGED_POSITION, R.STOP_LOSS, R.TAKE_PROFIT, R.TRAILING_STOP],
            R.TRAILING_STOP,
        ),
        ([R.AGED_POSITION, R.TIME_STOP], R.AGED_POSITION),
        ([R.STOP_LOSS, R.AGED_POSITION], R.STOP_LOSS),
        ([R.TAKE_PROFIT, R.STOP_LOSS], R.TAKE_PROFIT),
    ],
)
def test_the_lowest_priority_number_wins(
    fired: list[ProtectionRule], winner: ProtectionRule
) -> None:
    outcome = arbitrate(decision(rule) for rule in fired)

    assert outcome.winner is not None
    assert outcome.winner.rule is winner
    assert sorted(s.decision.rule for s in outcome.suppressed) == sorted(
        r for r in fired if r is not winner
    )
    assert {s.reason for s in outcome.suppressed} <= {SuppressReason.LOWER_PRIORITY}


def test_the_kill_switch_beats_any_configured_priority() -> None:
    outcome = arbitrate(
        [decision(R.TRAILING_STOP, priority=1), decision(R.KILL_SWITCH, priority=99)]
    )

    assert outcome.winner is not None
    assert outcome.winner.rule is R.KILL_SWITCH
    assert "kill_switch" in outcome.suppressed[0].detail


def test_a_tie_goes_to_the_larger_close() -> None:
    outcome = arbitrate([decision(R.TAKE_PROFIT, "0.5"), decision(R.TAKE_PROFIT, "1")])

    assert outcome.winner is not None
    assert outcome.winner.fraction == 1
