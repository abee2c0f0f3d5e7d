"""Trade → bar aggregation: OHLCV by exchange time, closing rules, late and partial bars."""

from __future__ import annotations

import pytest

from tradestream.core.candles import BarBuilder, Candle, SymbolBars
from tradestream.core.candles.bar_builder import BarCounts

T0 = 1_700_000_040_000  # a minute boundary (UTC)


def test_a_bar_holds_open_high_low_close_volume_turnover_and_count() -> None:
    builder = BarBuilder("BTCUSDT", 60)
    for ts, price, size in ((T0 + 1, 10.0, 1.0), (T0 + 2, 12.0, 2.0), (T0 + 3, 9.0, 0.5)):
        assert builder.on_trade(ts, price, size) is None
    closed = builder.on_trade(T0 + 60_000, 11.0, 1.0)
    assert closed == Candle("BTCUSDT", 60, T0, 10.0, 12.0, 9.0, 9.0, 3.5, 38.5, 3)


def test_bars_align_to_utc_boundaries_whatever_the_first_trade() -> None:
    builder = BarBuilder("BTCUSDT", 5)
    builder.on_trade(T0 + 7_321, 1.0, 1.0)
    forming = builder.forming()
    assert forming is not None
    assert (forming.open_ts_ms, forming.close_ts_ms) == (T0 + 5_000, T0 + 10_000)


def test_an_interval_without_trades_makes_no_bar() -> None:
    builder = BarBuilder("BTCUSDT", 1)
    builder.on_trade(T0, 1.0, 1.0)
    closed = builder.on_trade(T0 + 5_500, 2.0, 1.0)  # four silent seconds in between
    assert closed is not None
    assert closed.open_ts_ms == T0
    forming = builder.forming()
    assert forming is not None
    assert forming.open_ts_ms == T0 + 5_000


def test_the_clock_closes_a_quiet_bar_only_after_the_grace() -> None:
    builder = BarBuilder("BTCUSDT", 60, close_grace_ms=1000)
    builder.on_trade(T0 + 10, 1.0, 1.0)
    assert builder.due_ms == T0 + 61_000
    assert builder.on_clock(T0 + 60_999) is None
    closed = builder.on_clock(T0 + 61_000)
    assert closed is not None
    assert closed.open_ts_ms == T0
    assert builder.forming() is None
    assert builder.on_clock(T0 + 200_000) is None


def test_a_trade_of_a_closed_bar_is_late_and_changes_nothing() -> None:
    builder = BarBuilder("BTCUSDT", 60)
    builder.on_trade(T0 + 10, 1.0, 1.0)
    builder.on_clock(T0 + 60_000)
    assert builder.on_trade(T0 + 59_999, 5.0, 1.0) is None
    assert builder.late == 1
    assert builder.forming() is None


def test_a_trade_older_than_the_forming_bar_is_late() -> None:
    builder = BarBuilder("BTCUSDT", 60)
    builder.on_trade(T0 + 60_010, 1.0, 1.0)
    assert builder.on_trade(T0 + 10, 7.0, 1.0) is None
    assert builder.late == 1
    forming = builder.forming()
    assert forming is not None
    assert forming.high == 1.0


@pytest.mark.parametrize(
    ("first_heard", "published"),
    [(T0 - 1, True), (T0, False), (T0 + 30_000, False)],
)
def test_complete_only_withholds_a_bar_that_opened_before_the_builder_heard(
    first_heard: int, published: bool
) -> None:
    builder = BarBuilder("BTCUSDT", 60, complete_only=True)
    builder.on_clock(first_heard)
    builder.on_trade(T0 + 40_000, 1.0, 1.0)
    closed = builder.on_trade(T0 + 60_000, 1.0, 1.0)
    assert (closed is not None) is published
    assert builder.partial == (0 if published else 1)
    assert builder.on_trade(T0 + 120_000, 1.0, 1.0) is not None  # the next one is whole


def test_symbol_bars_build_every_interval_and_track_the_earliest_due_time() -> None:
    bars = SymbolBars("BTCUSDT", (1, 60), close_grace_ms=500)
    bars.on_trade(T0 + 100, 1.0, 1.0)
    bars.settle()
    assert bars.due_ms == T0 + 1_500
    bars.on_trade(T0 + 1_100, 2.0, 1.0)  # closes the first 1 s bar
    bars.settle()
    assert [(c.interval_s, c.open_ts_ms) for c in bars.take()] == [(1, T0)]
    bars.on_clock(T0 + 61_000)
    assert bars.due_ms >= 2**62  # nothing forming: never due
    assert sorted((c.interval_s, c.open_ts_ms) for c in bars.take()) == [
        (1, T0 + 1_000),
        (60, T0),
    ]
    assert bars.take() == []


def test_late_trades_and_clock_closes_are_counted_per_builder_and_per_shared_interval() -> None:
    shared = {60: BarCounts()}
    first = SymbolBars("BTCUSDT", (1, 60), close_grace_ms=500, counts=shared)
    second = SymbolBars("ETHUSDT", (60,), close_grace_ms=500, counts=shared)
    for bars in (first, second):
        bars.on_trade(T0 + 10, 1.0, 1.0)
        bars.on_clock(T0 + 60_500)  # closes the quiet minute (and BTC's 1 s bar) by the clock
        bars.on_trade(T0 + 20, 1.0, 1.0)  # then a trade of that minute arrives: late
    minute = first.builders[1]
    assert (minute.closed_by_clock, minute.late) == (1, 1)
    assert (first.builders[0].closed_by_clock, first.builders[0].late) == (1, 1)
    assert (shared[60].closed_by_clock, shared[60].late) == (2, 2)  # 1 s bars count apart


def test_a_bar_closed_by_a_later_trade_is_not_counted_as_closed_by_the_clock() -> None:
    builder = BarBuilder("BTCUSDT", 60, close_grace_ms=1000)
    builder.on_trade(T0 + 10, 1.0, 1.0)
    assert builder.on_trade(T0 + 60_000, 1.0, 1.0) is not None
    assert builder.on_clock(T0 + 60_500) is None
    assert (builder.closed_by_clock, builder.late) == (0, 0)
