"""The portfolio: executions applied once, netting and flips, PnL and fees, marks, replicas."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import T0, execution, position
from tradestream.core.portfolio import Portfolio
from tradestream.schemas.orders import Side

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


@pytest.fixture
def book() -> Portfolio:
    return Portfolio(D(10_000))


def test_an_execution_seen_twice_changes_nothing_and_says_so(book: Portfolio) -> None:
    fill = execution(BUY, "1", "100", fee="0.1", exec_id="e-1")

    first = book.apply_execution(fill)
    before = book.state(T0)
    again = book.apply_execution(fill)

    assert not first.duplicate
    assert first.change is not None
    assert first.change.cause == "e-1"
    assert again.duplicate
    assert again.change is None
    assert again.realized_pnl == 0
    assert book.state(T0) == before
    assert book.seen_exec_ids() == ("e-1",)


def test_realized_pnl_and_fees_move_equity(book: Portfolio) -> None:
    book.apply_execution(execution(BUY, "2", "100", fee="0.2", ts=T0))
    result = book.apply_execution(execution(SELL, "1", "110", fee="0.11", ts=T0 + 1))

    state = book.state(T0 + 2)
    btc = book.position("BTCUSDT")
    assert result.realized_pnl == D(10)
    assert (btc.size, btc.entry_price, btc.realized_pnl, btc.fees_paid) == (
        D(1),
        D(100),
        D(10),
        D("0.31"),
    )
    assert btc.unrealized_pnl == D(10)  # marked at the last execution's price
    assert state.equity == D(10_000) + D(10) - D("0.31") + D(10)
    assert state.gross_exposure == D(110)


def test_a_flip_closes_at_the_fill_and_opens_the_other_side_then(book: Portfolio) -> None:
    book.apply_execution(execution(BUY, "1", "100", ts=T0))
    book.set_stop_loss("BTCUSDT", D(95), T0 + 1)
    change = book.apply_execution(execution(SELL, "3", "105", ts=T0 + 5)).change

    assert change is not None
    assert (change.size, change.entry_price, change.realized_pnl) == (D(-2), D(105), D(5))
    assert change.opened_ts_ms == T0 + 5
    assert change.stop_loss is None  # the long's stop does not protect the short


def test_closing_forgets_the_opening_time_and_the_stop(book: Portfolio) -> None:
    book.apply_execution(execution(SELL, "1", "100", ts=T0))
    book.set_stop_loss("BTCUSDT", D(104), T0)
    book.apply_execution(execution(BUY, "1", "98", ts=T0 + 9))

    flat = book.position("BTCUSDT")
    assert (flat.size, flat.entry_price, flat.opened_ts_ms, flat.stop_loss) == (D(0), 0, None, None)
    assert flat.realized_pnl == D(2)
    assert book.state(T0 + 10).open_positions == ()


def test_an_open_position_takes_its_signals_levels_and_keeps_those_not_given_again(
    book: Portfolio,
) -> None:
    book.apply_execution(execution(BUY, "1", "100", ts=T0))

    opened = book.set_levels("BTCUSDT", D(95), D(110), ts_ms=T0, cause="e-1")
    added = book.set_levels("BTCUSDT", D(97), None, ts_ms=T0 + 1, cause="e-2")

    assert opened is not None
    assert added is not None
    assert (opened.stop_loss, opened.take_profit, opened.cause) == (D(95), D(110), "e-1")
    assert (added.stop_loss, added.take_profit, added.updated_ts_ms) == (D(97), D(110), T0 + 1)
    assert book.set_levels("ETHUSDT", D(1), D(3), ts_ms=T0, cause="x") is None  # flat
    assert Portfolio.restore(book.state(T0 + 1)).position("BTCUSDT").take_profit == D(110)


def test_an_open_position_takes_its_signals_atr_and_keeps_it_when_none_is_given_again(
    book: Portfolio,
) -> None:
    book.apply_execution(execution(BUY, "1", "100", ts=T0))

    opened = book.set_levels("BTCUSDT", D(95), None, ts_ms=T0, cause="e-1", atr=D("0.4"))
    added = book.set_levels("BTCUSDT", D(97), None, ts_ms=T0 + 1, cause="e-2")

    assert opened is not None
    assert added is not None
    assert (opened.stop_loss, opened.atr) == (D(95), D("0.4"))
    assert (added.stop_loss, added.atr) == (D(97), D("0.4"))
    assert Portfolio.restore(book.state(T0 + 1)).position("BTCUSDT").atr == D("0.4")


@pytest.mark.parametrize(
    "fills",
    [
        [(SELL, "1", "105")],  # closed
        [(SELL, "3", "105")],  # flipped
        [(SELL, "1", "105"), (BUY, "1", "100")],  # closed and opened again
    ],
)
def test_a_new_or_closed_position_has_none_of_the_last_ones_levels(
    book: Portfolio, fills: list[tuple[Side, str, str]]
) -> None:
    book.apply_execution(execution(BUY, "1", "100", ts=T0))
    book.set_levels("BTCUSDT", D(95), D(110), ts_ms=T0, cause="e-1", atr=D("0.4"))

    for side, qty, price in fills:
        book.apply_execution(execution(side, qty, price, ts=T0 + 5))

    btc = book.position("BTCUSDT")
    assert (btc.stop_loss, btc.take_profit, btc.atr) == (None, None, None)


def test_adding_keeps_the_opening_time_and_averages_the_entry(book: Portfolio) -> None:
    book.apply_execution(execution(BUY, "1", "100", ts=T0))
    book.apply_execution(execution(BUY, "3", "104", ts=T0 + 7))

    btc = book.position("BTCUSDT")
    assert (btc.size, btc.entry_price, btc.opened_ts_ms) == (D(4), D(103), T0)


def test_marks_value_open_positions_and_ignore_flat_ones(book: Portfolio) -> None:
    book.apply_execution(execution(SELL, "2", "100", ts=T0))

    change = book.mark("BTCUSDT", D(90), T0 + 1)

    assert change is not None
    assert change.unrealized_pnl == D(20)
    assert change.cause == "mark"
    assert book.mark("ETHUSDT", D(5), T0 + 1) is None
    assert book.state(T0 + 1).equity == D(10_020)


def test_a_replica_takes_the_newest_published_position(book: Portfolio) -> None:
    newer = position("BTCUSDT", "1", "100", mark="120", realized="5", ts=T0 + 10)
    older = position("BTCUSDT", "3", "90", ts=T0 + 5)

    assert book.apply_position(newer)
    assert not book.apply_position(older)
    assert book.position("BTCUSDT") == newer
    assert book.state(T0 + 10).equity == D(10_025)


def test_restore_brings_back_positions_curve_and_dedup() -> None:
    book = Portfolio(D(1000), day_start_hour_utc=8)
    book.apply_execution(execution(BUY, "1", "100", fee="1", ts=T0, exec_id="e-1"))
    book.mark("BTCUSDT", D(150), T0 + 1)
    book.mark("BTCUSDT", D(120), T0 + 2)
    saved = book.state(T0 + 3)

    restored = Portfolio.restore(saved, day_start_hour_utc=8, seen_exec_ids=book.seen_exec_ids())

    assert restored.state(T0 + 3) == saved
    assert restored.apply_execution(execution(BUY, "1", "1", exec_id="e-1")).duplicate
    assert saved.equity_peak == D(1049)


def test_the_starting_balance_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        Portfolio(D(-1))


@pytest.mark.parametrize("bad", [D(0), D(-1)])
def test_marks_and_stops_must_be_positive(book: Portfolio, bad: Decimal) -> None:
    book.apply_execution(execution(BUY, "1", "100"))

    with pytest.raises(ValueError, match="positive"):
        book.mark("BTCUSDT", bad, T0)
    with pytest.raises(ValueError, match="positive"):
        book.set_stop_loss("BTCUSDT", bad, T0)
    with pytest.raises(ValueError, match="positive"):
        book.set_levels("BTCUSDT", None, bad, ts_ms=T0, cause="x")
    with pytest.raises(ValueError, match="positive"):
        book.set_levels("BTCUSDT", None, None, ts_ms=T0, cause="x", atr=bad)
