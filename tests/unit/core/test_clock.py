"""The market clock: a symbol's time follows its exchange stamps, never behind the wall."""

from __future__ import annotations

from tradestream.core.clock import MarketClock

T0 = 1_767_225_600_000
HOUR = 3_600_000


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


def test_a_later_exchange_time_moves_the_symbol_s_clock_and_the_wall_runs_it_on() -> None:
    wall = Wall()
    clock = MarketClock(wall)

    clock.observe("BTCUSDT", T0 + 3 * HOUR)
    wall.ms += 1_500

    assert clock.now("BTCUSDT") == T0 + 3 * HOUR + 1_500
    assert clock.now("ETHUSDT") == T0 + 1_500  # other symbols keep their own time


def test_a_late_or_earlier_stamp_never_takes_the_clock_back() -> None:
    wall = Wall()
    clock = MarketClock(wall)
    clock.observe("BTCUSDT", T0 + HOUR)

    clock.observe("BTCUSDT", T0 + 10)  # older than the last: ignored
    wall.ms += 6_000

    assert clock.now("BTCUSDT") == T0 + HOUR + 6_000
    late = MarketClock(wall)
    late.observe("ETHUSDT", T0)  # a stamp 6 s behind the wall: the wall it is
    assert late.now("ETHUSDT") == wall.ms


def test_without_following_the_market_it_is_the_wall_clock() -> None:
    wall = Wall()
    clock = MarketClock(wall, follow=False)

    clock.observe("BTCUSDT", T0 + HOUR)

    assert clock.now("BTCUSDT") == T0


def test_a_replay_clock_keeps_a_recording_s_own_time_behind_the_wall() -> None:
    wall = Wall()
    clock = MarketClock(wall, behind_wall=True)
    clock.observe("BTCUSDT", T0 - 100 * HOUR)  # a recording from four days ago

    wall.ms += 7_000

    assert clock.now("BTCUSDT") == T0 - 100 * HOUR + 7_000
    assert clock.now("ETHUSDT") == wall.ms  # a symbol never seen: the wall clock
