"""The trading-state table and the kill switch: legal moves, illegal ones raise, episodes count."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradestream.core.errors import BadInputError
from tradestream.core.risk import TRANSITIONS, InvalidTradingStateError, KillSwitch, Move
from tradestream.schemas.trading import (
    KillSwitchReset,
    KillSwitchTrigger,
    KillSwitchTripped,
    TradingState,
    TradingStateChanged,
)

S = TradingState
MANUAL = KillSwitchTrigger.MANUAL


def tripped(switch: KillSwitch, at: int = 10) -> KillSwitchTripped:
    return switch.trip(MANUAL, "test", "alice", at)


def test_the_table_covers_every_state_and_every_state_can_reach_active() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.HALTED] == {Move.RESET: S.ACTIVE, Move.RESET_REDUCING: S.REDUCING}
    assert all(
        S.HALTED in moves.values() for state, moves in TRANSITIONS.items() if state != S.HALTED
    )


def test_active_trips_to_halted_and_a_reset_of_that_episode_resumes() -> None:
    switch = KillSwitch()

    trip = tripped(switch)
    reset = switch.reset(1, "checked", "alice", 20, equity=Decimal(9500))

    assert (trip.from_state, trip.to_state, trip.episode) == (S.ACTIVE, S.HALTED, 1)
    assert (reset.from_state, reset.to_state, reset.episode) == (S.HALTED, S.ACTIVE, 1)
    assert (reset.baseline_equity, reset.baseline_ts_ms) == (Decimal(9500), 20)
    assert switch.state is S.ACTIVE
    assert [(t.move, t.at_ms, t.actor) for t in switch.history] == [
        (Move.TRIP, 10, "alice"),
        (Move.RESET, 20, "alice"),
    ]


def test_each_trip_opens_the_next_episode() -> None:
    switch = KillSwitch()
    tripped(switch)
    switch.reset(1, "ok", "alice", 11, equity=Decimal(1))

    assert tripped(switch, 12).episode == 2
    assert switch.baseline is None  # a trip drops the last reset's baseline


def test_reducing_is_set_and_unset_and_can_trip() -> None:
    switch = KillSwitch()

    reduce = switch.set_state(S.REDUCING, "maintenance", "bob", 1)
    trip = tripped(switch, 2)
    back = switch.reset(1, "done", "bob", 3, equity=Decimal(1), resume=S.REDUCING)
    resume = switch.set_state(S.ACTIVE, "all clear", "bob", 4)

    assert isinstance(reduce, TradingStateChanged)
    assert reduce.to_state is S.REDUCING
    assert trip.from_state is S.REDUCING
    assert isinstance(back, KillSwitchReset)
    assert back.to_state is S.REDUCING
    assert resume.to_state is S.ACTIVE
    assert resume.baseline_equity == Decimal(1)


@pytest.mark.parametrize(
    ("prepare", "illegal"),
    [
        ([], lambda s: s.reset(0, "x", "a", 1, equity=Decimal(1))),
        ([], lambda s: s.set_state(S.ACTIVE, "x", "a", 1)),
        ([], lambda s: s.set_state(S.HALTED, "x", "a", 1)),
        (["trip"], lambda s: s.trip(MANUAL, "again", "a", 1)),
        (["trip"], lambda s: s.set_state(S.ACTIVE, "x", "a", 1)),
        (["trip"], lambda s: s.reset(2, "stale", "a", 1, equity=Decimal(1))),
        (["reduce"], lambda s: s.set_state(S.REDUCING, "x", "a", 1)),
    ],
)
def test_illegal_moves_raise_and_change_nothing(prepare: list[str], illegal: object) -> None:
    switch = KillSwitch()
    if "trip" in prepare:
        tripped(switch)
    if "reduce" in prepare:
        switch.set_state(S.REDUCING, "x", "a", 1)
    before = (switch.state, switch.episode, switch.history)

    with pytest.raises(InvalidTradingStateError):
        illegal(switch)  # type: ignore[operator]

    assert (switch.state, switch.episode, switch.history) == before


def test_an_illegal_move_is_bad_input_for_the_agent_boundary() -> None:
    assert issubclass(InvalidTradingStateError, BadInputError)


def test_a_reason_too_long_for_the_event_changes_nothing() -> None:
    switch = KillSwitch()

    with pytest.raises(ValueError, match="500"):
        switch.trip(MANUAL, "x" * 501, "alice", 1)

    assert (switch.state, switch.episode) == (S.ACTIVE, 0)


def test_the_last_event_restores_a_halt() -> None:
    restored = KillSwitch.restore(tripped(KillSwitch()))

    assert (restored.state, restored.episode, restored.baseline) == (S.HALTED, 1, None)


def test_the_last_event_restores_a_reset_and_its_baseline() -> None:
    switch = KillSwitch()
    tripped(switch)
    switch.reset(1, "ok", "a", 30, equity=Decimal(7))

    restored = KillSwitch.restore(switch.set_state(S.REDUCING, "careful", "a", 40))

    assert (restored.state, restored.episode) == (S.REDUCING, 1)
    assert restored.baseline == (Decimal(7), 30)
    assert KillSwitch.restore(None).state is S.ACTIVE


def test_a_halted_switch_needs_an_episode() -> None:
    with pytest.raises(ValueError, match="episode 0"):
        KillSwitch(S.HALTED, 0)
