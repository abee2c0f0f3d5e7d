"""Rolling 1-minute bars up to longer intervals equals building those directly from the trades."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.candles import BarBuilder, Candle, RollUp, roll_up
from tradestream.core.candles.records import exact_text

START = 1_786_233_600_000  # a UTC midnight

Trade = tuple[int, float, float]

# Trades by ascending exchange time over a few hours, prices and sizes as exchange decimals.
trades_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6 * 3_600_000),
        st.integers(min_value=1, max_value=2_000_000).map(lambda p: round(p / 10, 1)),
        st.integers(min_value=1, max_value=50_000).map(lambda q: round(q / 1000, 3)),
    ),
    min_size=1,
    max_size=300,
).map(lambda rows: sorted((START + t, p, q) for t, p, q in rows))


def _build(trades: list[Trade], interval_s: int) -> list[Candle]:
    builder = BarBuilder("BTCUSDT", interval_s)
    bars = [bar for ts, price, size in trades if (bar := builder.on_trade(ts, price, size))]
    last = builder.forming()
    return bars + ([last] if last is not None else [])


def _key(bar: Candle) -> tuple[object, ...]:
    # Exact fields, and the sums as the decimals they are written as on md.candles.
    exact = (bar.symbol, bar.interval_s, bar.open_ts_ms, bar.open, bar.high, bar.low, bar.close)
    return (*exact, bar.trades, exact_text(bar.volume, bar.trades))


@settings(max_examples=200, deadline=None)
@given(trades=trades_strategy, interval_s=st.sampled_from([300, 900, 3600, 14_400]))
def test_rolling_up_minutes_equals_building_at_the_longer_interval(
    trades: list[Trade], interval_s: int
) -> None:
    direct = _build(trades, interval_s)
    rolled = roll_up(_build(trades, 60), interval_s)
    assert [_key(bar) for bar in rolled] == [_key(bar) for bar in direct]
    for ours, theirs in zip(rolled, direct, strict=True):
        assert ours.volume == pytest.approx(theirs.volume, rel=1e-12)
        assert ours.turnover == pytest.approx(theirs.turnover, rel=1e-12)


def _minute(offset_min: int, price: float) -> Candle:
    return Candle("BTCUSDT", 60, START + offset_min * 60_000, price, price, price, price, 1.0)


def test_a_rolled_up_bar_is_given_out_when_its_last_minute_arrives() -> None:
    roll = RollUp(300)
    assert [roll.on_bar(_minute(m, float(m + 1))) for m in range(4)] == [[], [], [], []]
    (done,) = roll.on_bar(_minute(4, 5.0))
    assert (done.open_ts_ms, done.open, done.high, done.low, done.close) == (START, 1, 5, 1, 5)
    assert (done.volume, done.interval_s) == (5.0, 300)
    assert roll.partial() is None


def test_a_later_period_or_the_clock_closes_a_bar_missing_its_last_minutes() -> None:
    roll = RollUp(300)
    roll.on_bar(_minute(1, 1.0))
    (closed,) = roll.on_bar(_minute(7, 2.0))
    assert (closed.open_ts_ms, closed.volume) == (START, 1.0)
    assert roll.on_clock(START + 599_999) is None
    by_clock = roll.on_clock(START + 600_000)
    assert by_clock is not None
    assert by_clock.open_ts_ms == START + 300_000


def test_a_bar_both_closing_one_period_and_ending_its_own_gives_out_two() -> None:
    roll = RollUp(300)
    roll.on_bar(_minute(0, 1.0))
    done = roll.on_bar(_minute(9, 2.0))
    assert [bar.open_ts_ms for bar in done] == [START, START + 300_000]


def test_a_minute_older_than_the_period_rolling_up_is_late() -> None:
    roll = RollUp(300)
    roll.on_bar(_minute(6, 1.0))
    assert roll.on_bar(_minute(2, 9.0)) == []
    assert roll.late == 1


@pytest.mark.parametrize(("short_s", "long_s"), [(60, 90), (120, 7 * 3600), (60, 7 * 86_400)])
def test_intervals_that_do_not_nest_in_a_utc_day_are_refused(short_s: int, long_s: int) -> None:
    roll = RollUp(long_s)
    bar = Candle("BTCUSDT", short_s, START, 1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="aligned to UTC"):
        roll.on_bar(bar)
