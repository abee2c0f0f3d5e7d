"""The levels an exchange holds on a position: Bybit's refusals, and when a stop fires."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradestream.core.matching.trading_stops import (
    NOT_MODIFIED,
    PARAMS_ERROR,
    StopLevels,
    StopRefusedError,
    checked_levels,
    stop_triggered,
)

D = Decimal


def check(size: str, *, stop: str | None = None, take: str | None = None,
          current: StopLevels | None = None, trigger: str = "MarkPrice") -> StopLevels:  # fmt: skip
    return checked_levels(
        current or StopLevels(), size=D(size), base_price=D(100),
        take_profit=None if take is None else D(take),
        stop_loss=None if stop is None else D(stop), trigger_by=trigger,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("size", "levels", "trigger", "message"),
    [
        ("0", ("90", None), "MarkPrice", "zero position"),
        ("1", ("101", None), "MarkPrice", "StopLoss:101 set for Buy position should lower than "
                                          "base_price:100"),
        ("-1", ("99", None), "MarkPrice", "set for Sell position should higher"),
        ("1", (None, "99"), "MarkPrice", "TakeProfit:99 set for Buy position"),
        ("1", ("-1", None), "MarkPrice", "cannot be less than 0"),
        ("1", ("90", None), "MidPrice", "slTriggerBy"),
    ],
)  # fmt: skip
def test_bybit_refuses_a_level_it_cannot_hold(
    size: str, levels: tuple[str | None, str | None], trigger: str, message: str
) -> None:
    stop, take = levels
    with pytest.raises(StopRefusedError, match=message) as refused:
        check(size, stop=stop, take=take, trigger=trigger)
    assert refused.value.ret_code == PARAMS_ERROR


def test_levels_merge_a_zero_removes_and_the_same_again_is_not_modified() -> None:
    held = check("1", stop="90", take="120")

    moved = check("1", stop="95", current=held)
    removed = check("1", take="0", current=moved)

    assert (moved.take_profit, moved.stop_loss) == (D(120), D(95))
    assert (removed.take_profit, removed.stop_loss) == (D(0), D(95))
    with pytest.raises(StopRefusedError) as same:
        check("1", stop="95", current=removed)
    assert same.value.ret_code == NOT_MODIFIED


@pytest.mark.parametrize(
    ("size", "price", "fires"),
    [("1", "95.01", False), ("1", "95", True), ("1", "80", True), ("-1", "104.99", False),
     ("-1", "105", True), ("0", "50", False)],
)  # fmt: skip
def test_a_stop_fires_once_the_price_reaches_it_against_the_position(
    size: str, price: str, fires: bool
) -> None:
    levels = StopLevels(stop_loss=D(95) if size != "-1" else D(105))

    assert stop_triggered(levels, size=D(size), price=D(price)) is fires
