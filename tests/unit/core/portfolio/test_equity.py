"""The trading day and the equity peak: daily PnL rolls over at the boundary, drawdown from peak."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import T0, execution
from tradestream.core.portfolio import DAY_MS, EquityCurve, Portfolio, trading_day_start
from tradestream.schemas.orders import Side

D = Decimal
HOUR = 3_600_000


@pytest.mark.parametrize(
    ("ts", "hour", "start"),
    [
        (T0, 0, T0),
        (T0 + DAY_MS - 1, 0, T0),
        (T0 + DAY_MS, 0, T0 + DAY_MS),
        (T0 + 7 * HOUR, 8, T0 - 16 * HOUR),
        (T0 + 8 * HOUR, 8, T0 + 8 * HOUR),
    ],
)
def test_the_trading_day_starts_at_the_configured_utc_hour(ts: int, hour: int, start: int) -> None:
    assert trading_day_start(ts, hour) == start


def test_an_hour_outside_the_day_is_refused() -> None:
    with pytest.raises(ValueError, match="0-23"):
        EquityCurve(24, D(0))


def test_daily_pnl_counts_realized_and_unrealized_since_the_day_opened() -> None:
    book = Portfolio(D(1000))
    book.apply_execution(execution(Side.BUY, "10", "100", fee="1", ts=T0 + HOUR))
    book.mark("BTCUSDT", D(90), T0 + 2 * HOUR)

    today = book.state(T0 + 3 * HOUR)

    assert today.day_start_ms == T0
    assert today.day_start_equity == D(1000)
    assert today.daily_pnl == D(-101)


def test_the_day_rolls_over_with_the_equity_carried_across_the_boundary() -> None:
    book = Portfolio(D(1000))
    book.apply_execution(execution(Side.BUY, "10", "100", ts=T0 + HOUR))
    book.mark("BTCUSDT", D(95), T0 + DAY_MS - 1)

    book.mark("BTCUSDT", D(97), T0 + DAY_MS + HOUR)
    tomorrow = book.state(T0 + DAY_MS + HOUR)

    assert tomorrow.day_start_ms == T0 + DAY_MS
    assert tomorrow.day_start_equity == D(950)
    assert tomorrow.daily_pnl == D(20)


def test_the_roll_over_timer_opens_a_day_without_any_event() -> None:
    book = Portfolio(D(1000))
    book.apply_execution(execution(Side.SELL, "1", "100", ts=T0))
    book.mark("BTCUSDT", D(80), T0 + 1)

    assert not book.roll(T0 + DAY_MS - 1)
    assert book.roll(T0 + DAY_MS)
    assert book.state(T0 + DAY_MS).daily_pnl == 0


def test_a_late_event_never_rolls_the_day_back() -> None:
    book = Portfolio(D(1000))
    book.roll(T0 + DAY_MS)
    book.apply_execution(execution(Side.BUY, "1", "100", ts=T0 + 5))

    assert book.state(T0 + DAY_MS + 1).day_start_ms == T0 + DAY_MS


def test_the_peak_is_the_highest_equity_seen_and_drawdown_is_measured_from_it() -> None:
    book = Portfolio(D(1000))
    book.apply_execution(execution(Side.BUY, "10", "100", ts=T0))
    book.mark("BTCUSDT", D(120), T0 + 1)
    book.mark("BTCUSDT", D(90), T0 + 2)

    state = book.state(T0 + 3)

    assert state.equity_peak == D(1200)
    assert state.equity == D(900)
    assert state.drawdown == D("0.25")


def test_the_curve_keeps_its_peak_across_days() -> None:
    curve = EquityCurve(0, D(100))
    curve.roll(T0, D(100))
    curve.observe(D(130))

    assert curve.roll(T0 + DAY_MS, D(110))
    assert (curve.peak, curve.day_start_equity) == (D(130), D(110))
    assert curve.day(T0 + DAY_MS + 1, D(0)) == (T0 + DAY_MS, D(110))
