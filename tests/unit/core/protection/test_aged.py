"""Aged positions V2: the transition table, the phase schedule and the loss tolerance."""

from __future__ import annotations

import pytest

from tests.unit.core.protection.factories import (
    HOUR,
    MINUTE,
    SECOND,
    T0,
    D,
    config,
    opened,
    price,
    result,
    view,
)
from tradestream.core.errors import BadInputError
from tradestream.core.protection import (
    TRANSITIONS,
    AgedPhase,
    AgedPosition,
    AgedPositionConfig,
    CloseResultKind,
    InvalidAgedTransitionError,
    ProtectionEngine,
    ProtectionOutcome,
    ProtectionRule,
    aged_target,
    breakeven_price,
    loss_tolerance,
)
from tradestream.schemas.orders import Side

P = AgedPhase
AGED = AgedPositionConfig()
PROGRESSIVE_START = T0 + 11 * HOUR  # 3 h to age, 8 h of grace
# No other rule may close: the stop-loss is 50 % away, no take-profit, no exchange stop.
ONLY_AGED = config(
    stop_loss={"distance": "0.5"},
    take_profit={"partials": []},
    exchange_stop={"enabled": False},
)


def run(engine: ProtectionEngine, value: str, start: int, end: int) -> list[ProtectionOutcome]:
    """Price the symbol and run the timer every 15 minutes from ``start`` to ``end``."""
    outcomes = []
    for ts in range(start, end + 1, 15 * MINUTE):
        outcomes.append(engine.on_price(price(value, ts), ts) + engine.on_timer(ts))
    return outcomes


def moves(outcomes: list[ProtectionOutcome]) -> list[tuple[P | None, P, float]]:
    """Return (from, to, hours since opening) of every aged transition."""
    return [
        (t.from_phase, t.to_phase, (t.at_ms - T0) / HOUR)
        for o in outcomes
        for t in o.aged_transitions
    ]


def test_the_table_covers_every_phase_and_only_closed_is_final() -> None:
    assert set(TRANSITIONS) == set(P)
    assert [phase for phase, targets in TRANSITIONS.items() if not targets] == [P.CLOSED]
    assert all(P.CLOSED in targets for phase, targets in TRANSITIONS.items() if phase != P.CLOSED)


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], P.PROGRESSIVE),  # detected must pass through grace
        ([P.GRACE], P.DETECTED),
        ([P.GRACE], P.EMERGENCY),
        ([P.GRACE, P.PROGRESSIVE], P.GRACE),
        ([P.GRACE, P.PROGRESSIVE, P.EMERGENCY], P.PROGRESSIVE),
        ([P.GRACE], P.ERROR),  # only a failed close errs
        ([P.GRACE, P.CLOSING, P.ERROR], P.CLOSING),
        ([P.GRACE, P.CLOSED], P.GRACE),
        ([P.GRACE, P.CLOSED], P.CLOSED),
    ],
)
def test_an_illegal_move_raises_and_changes_nothing(path: list[P], illegal: P) -> None:
    target = aged_target(view(), AGED, T0 + 4 * HOUR)
    aged = AgedPosition.detect(view(), target, T0 + 4 * HOUR)
    for phase in path:
        aged.move(phase, T0 + 4 * HOUR, "test", target)
    recorded = len(aged.history)

    with pytest.raises(InvalidAgedTransitionError) as raised:
        aged.move(illegal, T0 + 5 * HOUR, "test", target)

    assert isinstance(raised.value, BadInputError)
    assert (aged.phase, len(aged.history)) == (path[-1] if path else P.DETECTED, recorded)


@pytest.mark.parametrize(
    ("hours", "tolerance"),
    [
        ("0", "0"),
        ("1", "0.005"),  # 0.5 % per hour
        ("4", "0.02"),
        ("10", "0.05"),  # at 10 h exactly: not yet accelerated
        ("10.5", "0.063"),  # 5.25 % x 1.2
        ("12", "0.072"),  # 6 % x 1.2
        ("16.5", "0.099"),  # 8.25 % x 1.2
        ("17", "0.10"),  # 10.2 % capped at 10 %
        ("20", "0.10"),
    ],
)
def test_loss_tolerance_grows_accelerates_and_caps(hours: str, tolerance: str) -> None:
    assert loss_tolerance(D(hours), AGED) == D(tolerance)


@pytest.mark.parametrize(("side", "expected"), [(Side.BUY, "100.11"), (Side.SELL, "99.89")])
def test_breakeven_pays_both_taker_fees(side: Side, expected: str) -> None:
    assert breakeven_price(view(side), AGED) == D(expected)  # 100 x (1 +- 2 x 0.055 %)


@pytest.mark.parametrize(
    ("hours_progressive", "tolerance", "target"),
    [(1, "0.005", "99.50"), (10, "0.05", "95.00"), (12, "0.072", "92.80"), (17, "0.10", "90.00")],
)
def test_the_progressive_target_follows_the_tolerance(
    hours_progressive: int, tolerance: str, target: str
) -> None:
    now = PROGRESSIVE_START + hours_progressive * HOUR
    plan = aged_target(view(), AGED, now)

    assert (plan.phase, plan.loss_tolerance, plan.target_price) == (
        P.PROGRESSIVE,
        D(tolerance),
        D(target),
    )


def test_thirty_one_hours_at_a_deep_loss_end_in_an_emergency_market_close() -> None:
    engine = opened(ONLY_AGED)

    outcomes = run(engine, "85", T0, T0 + 31 * HOUR)

    # Swept hourly: detected at 3 h, grace at once, progressive at 3 + 8 h, emergency at 3 + 28 h.
    assert moves(outcomes) == [
        (None, P.DETECTED, 3.0),
        (P.DETECTED, P.GRACE, 3.0),
        (P.GRACE, P.PROGRESSIVE, 11.0),
        (P.PROGRESSIVE, P.EMERGENCY, 31.0),
        (P.EMERGENCY, P.CLOSING, 31.0),
    ]
    sent = [(c, (c.decided_ts_ms - T0) / HOUR) for o in outcomes for c in o.closes]
    ((close, at),) = sent
    assert (at, close.rule, close.stage, close.trigger_price) == (
        31.0,
        ProtectionRule.AGED_POSITION,
        "emergency",
        None,
    )
    emergency = [t for o in outcomes for t in o.aged_transitions if t.to_phase is P.EMERGENCY]
    assert (emergency[0].loss_tolerance, emergency[0].breakeven_price) == (D("0.10"), D("100.11"))

    done = T0 + 31 * HOUR + SECOND
    engine.on_close_result(result(close, CloseResultKind.FILLED, done), done)
    (closed,) = engine.on_position("BTCUSDT", None, done).aged_transitions
    assert (closed.from_phase, closed.to_phase) == (P.CLOSING, P.CLOSED)
    assert "its aged close" in closed.reason


def test_the_progressive_phase_closes_when_the_price_meets_the_growing_tolerance() -> None:
    engine = opened(ONLY_AGED)

    outcomes = run(engine, "93", T0, PROGRESSIVE_START + 11 * HOUR + 45 * MINUTE)

    # 7 % loss: 11.5 h into progressive accepts 6.9 % (93.10), 11.75 h accepts 7.05 % (92.95).
    ((close, record),) = [(c, o.aged_transitions[-1]) for o in outcomes for c in o.closes]
    assert close.decided_ts_ms == PROGRESSIVE_START + 11 * HOUR + 45 * MINUTE
    assert (close.trigger_price, close.observed_price, close.stage) == (
        D("92.95"),
        D(93),
        "progressive",
    )
    assert (record.to_phase, record.loss_tolerance, record.target_price, record.attempts) == (
        P.CLOSING,
        D("0.0705"),
        D("92.95"),
        1,
    )


def test_a_profitable_position_closes_as_soon_as_it_is_detected() -> None:
    engine = opened(ONLY_AGED)

    outcomes = run(engine, "100.50", T0, T0 + 3 * HOUR)

    assert moves(outcomes)[-2:] == [(P.DETECTED, P.GRACE, 3.0), (P.GRACE, P.CLOSING, 3.0)]
    (close,) = outcomes[-1].closes
    assert (close.rule, close.trigger_price) == (ProtectionRule.AGED_POSITION, D("100.11"))


def test_a_position_with_an_active_trailing_stop_is_not_aged() -> None:
    engine = opened(ONLY_AGED)
    engine.on_price(price("101.60", T0 + SECOND), T0 + SECOND)  # activates the trail at 101.10

    outcomes = run(engine, "101.50", T0 + HOUR, T0 + 6 * HOUR)

    assert moves(outcomes) == []


def test_a_close_by_another_rule_closes_the_aged_record() -> None:
    engine = opened(ONLY_AGED)
    run(engine, "99", T0, T0 + 4 * HOUR)

    outcome = engine.on_position("BTCUSDT", None, T0 + 5 * HOUR)

    (record,) = outcome.aged_transitions
    assert (record.from_phase, record.to_phase) == (P.GRACE, P.CLOSED)
    assert engine.protection("BTCUSDT") is None


def test_a_failed_close_returns_to_its_phase_and_the_last_failure_is_an_error() -> None:
    engine = opened(ONLY_AGED)
    now = T0 + 3 * HOUR
    for attempt in range(4):
        outcome = engine.on_price(price("100.50", now), now) + engine.on_timer(now)
        (close,) = outcome.closes
        assert close.leg == attempt
        now += SECOND
        failed = engine.on_close_result(result(close, CloseResultKind.REJECTED, now), now)
        now += (1, 3, 5, 0)[attempt] * SECOND

    (failure,) = failed.failures
    (record,) = failed.aged_transitions
    assert (failure.attempts, failure.rule) == (4, ProtectionRule.AGED_POSITION)
    assert (record.from_phase, record.to_phase, record.attempts) == (P.CLOSING, P.ERROR, 4)
    state = engine.protection("BTCUSDT")
    assert state is not None
    assert state.aged is not None
    phases = [t.to_phase for t in state.aged.history]
    assert phases == [P.DETECTED, P.GRACE] + [P.CLOSING, P.GRACE] * 3 + [P.CLOSING, P.ERROR]
