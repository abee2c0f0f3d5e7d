"""Cash no execution explains: corrected once the same gap is seen twice, a while apart."""

from __future__ import annotations

from decimal import Decimal

from tests.support.trading import T0
from tradestream.core.portfolio.balance import BalanceCheck, BalanceCheckConfig
from tradestream.core.portfolio.portfolio import Portfolio

D = Decimal
CONFIG = BalanceCheckConfig(
    tolerance_usdt=D(5), tolerance_fraction=D("0.005"), confirm_after_ms=5_000
)


def test_a_gap_within_the_tolerance_is_marks_not_cash() -> None:
    check = BalanceCheck(CONFIG)

    assert check.observe(D(10_000), D("10_049.99"), T0) is None  # 0.5 % of 10,050 is 50.25
    assert check.observe(D(10_000), D("10_049.99"), T0 + 60_000) is None
    assert check.to_json() is None


def test_a_lasting_gap_is_corrected_once_on_the_second_look() -> None:
    check = BalanceCheck(CONFIG)

    assert check.observe(D(10_000), D("11_000.004"), T0) is None  # first seen
    assert check.observe(D(10_000), D("11_010"), T0 + 4_999) is None  # same gap, too soon
    assert check.observe(D(10_000), D("11_010"), T0 + 5_000) == D("1010.00")
    assert check.observe(D(11_010), D("11_010"), T0 + 10_000) is None  # corrected: nothing left


def test_a_gap_that_moves_is_a_fill_on_its_way_and_starts_over() -> None:
    check = BalanceCheck(CONFIG)

    assert check.observe(D(10_000), D(9_000), T0) is None
    assert check.observe(D(10_000), D(9_500), T0 + 6_000) is None  # a different gap: look again
    assert check.observe(D(10_000), D(9_500), T0 + 12_000) == D(-500)


def test_a_pending_gap_survives_a_restart() -> None:
    check = BalanceCheck(CONFIG)
    check.observe(D(10_000), D(10_200), T0)

    again = BalanceCheck(CONFIG)
    again.restore(check.to_json())

    assert again.observe(D(10_000), D(10_200), T0 + 5_000) == D(200)


def test_cash_moves_equity_but_is_neither_a_day_s_profit_nor_a_drawdown() -> None:
    portfolio = Portfolio(D(10_000))
    before = portfolio.state(T0)

    portfolio.adjust_balance(D(-2_500))  # a withdrawal
    after = portfolio.state(T0 + 1)

    assert after.equity == before.equity - 2_500
    assert after.daily_pnl == before.daily_pnl == 0
    assert after.drawdown == 0
