"""Stale prices: no decision on them, an alert per worsening, the emergency action at the limit."""

from __future__ import annotations

import pytest

from tests.unit.core.protection.factories import (
    KEY,
    SECOND,
    T0,
    D,
    opened,
    price,
    trailing_only,
)
from tradestream.core.protection import (
    ProtectionEngine,
    ProtectionOutcome,
    ProtectionRule,
    StaleAction,
    StalenessConfig,
    SuppressReason,
)
from tradestream.core.protection.freshness import classify
from tradestream.core.staleness import Freshness

R = ProtectionRule
STALE = SuppressReason.STALE_PRICE
LAST_PRICE = T0 + SECOND  # 97: through the 98 stop-loss


def reasons(outcome: ProtectionOutcome) -> list[tuple[ProtectionRule, SuppressReason]]:
    return [(s.decision.rule, s.reason) for s in outcome.suppressed]


def stale_engine(
    action: StaleAction = StaleAction.CLOSE_AFTER_PRICE_CHECK,
) -> tuple[ProtectionEngine, ProtectionOutcome]:
    engine = opened(trailing_only(staleness={"emergency_action": action}))
    late = engine.on_price(price("97", LAST_PRICE), LAST_PRICE + 60 * SECOND)
    return engine, late


def test_a_stale_price_makes_no_decision_and_raises_an_alert() -> None:
    engine, late = stale_engine()

    alerted = engine.on_timer(LAST_PRICE + 60 * SECOND)
    quiet = engine.on_timer(LAST_PRICE + 120 * SECOND)

    assert late.closes == alerted.closes == quiet.closes == ()
    assert reasons(late) == [(R.STOP_LOSS, STALE)]
    assert late.suppressed[0].age_s == 60.0
    (alert,) = alerted.alerts
    assert (alert.symbol, alert.age_s, alert.freshness) == ("BTCUSDT", 60.0, Freshness.CRITICAL)
    assert alert.positions_affected == (KEY,)
    assert quiet.alerts == ()  # reported once per worsening


def test_past_the_second_threshold_the_emergency_close_is_due_once() -> None:
    engine, _ = stale_engine()
    engine.on_timer(LAST_PRICE + 60 * SECOND)

    emergency = engine.on_timer(LAST_PRICE + 900 * SECOND)
    again = engine.on_timer(LAST_PRICE + 905 * SECOND)

    (record,) = emergency.emergencies
    assert (record.age_s, record.action, record.positions_affected) == (
        900.0,
        StaleAction.CLOSE_AFTER_PRICE_CHECK,
        (KEY,),
    )
    (close,) = emergency.closes
    assert (close.rule, close.requires_price_check, close.observed_price) == (
        R.STALE_PRICE,
        True,
        D(97),
    )
    assert reasons(emergency) == [(R.STOP_LOSS, STALE)]
    assert (again.emergencies, again.closes) == ((), ())
    assert (R.STALE_PRICE, SuppressReason.CLOSE_IN_FLIGHT) in reasons(again)


@pytest.mark.parametrize(
    ("action", "check", "closes"),
    [
        (StaleAction.CLOSE_AT_MARKET, False, 1),
        (StaleAction.ALERT_ONLY, None, 0),
    ],
)
def test_the_configured_emergency_action_decides_the_close(
    action: StaleAction, check: bool | None, closes: int
) -> None:
    engine, _ = stale_engine(action)

    emergency = engine.on_timer(LAST_PRICE + 900 * SECOND)

    assert [e.action for e in emergency.emergencies] == [action]
    assert len(emergency.closes) == closes
    assert [c.requires_price_check for c in emergency.closes] == ([check] if closes else [])


def test_a_degraded_price_still_acts_and_a_fresh_one_ends_the_silence() -> None:
    engine = opened(trailing_only(stop_loss={"distance": "0.5"}))
    engine.on_price(price("99", T0), T0)

    degraded = engine.on_timer(T0 + 15 * SECOND)
    engine.on_price(price("99", T0 + 16 * SECOND), T0 + 16 * SECOND)
    critical = engine.on_timer(T0 + 60 * SECOND)

    assert [a.freshness for a in degraded.alerts] == [Freshness.DEGRADED]
    assert [a.freshness for a in critical.alerts] == [Freshness.CRITICAL]  # a new silence


def test_a_position_never_priced_is_silent_since_it_opened() -> None:
    engine = opened(trailing_only())

    (alert,) = engine.on_timer(T0 + 31 * SECOND).alerts

    assert (alert.age_s, alert.freshness) == (31.0, Freshness.CRITICAL)


@pytest.mark.parametrize(
    ("rule", "age", "freshness"),
    [
        (R.STOP_LOSS, 9.9, Freshness.OK),
        (R.STOP_LOSS, 10, Freshness.DEGRADED),
        (R.STOP_LOSS, 30, Freshness.CRITICAL),
        (R.AGED_POSITION, 200, Freshness.DEGRADED),
        (R.AGED_POSITION, 299.9, Freshness.DEGRADED),
        (R.AGED_POSITION, 300, Freshness.CRITICAL),
        (R.AGED_POSITION, None, Freshness.CRITICAL),
    ],
)
def test_each_rule_judges_the_age_by_its_own_thresholds(
    rule: ProtectionRule, age: float | None, freshness: Freshness
) -> None:
    assert classify(age, StalenessConfig().for_rule(rule)) is freshness
