"""Each pre-trade rule refuses what breaks its limit, with the reason, and lets the rest through."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import T0, account, context, pending_order, position, proposed
from tradestream.core.risk import (
    MaxGrossExposure,
    MaxLeverage,
    MaxOpenPositions,
    MaxPositionNotional,
    MaxPositionsPerSymbol,
    MaxTotalRisk,
    OrdersPerMinute,
    ProposedOrder,
    Refused,
    TradingStateRule,
)
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import TradingState

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
TWO_OPEN = account(position("BTCUSDT", "1", "100"), position("ETHUSDT", "-2", "50"))
CLOSE_BTC = proposed(SELL, 1, before=1, reduce_only=True)


def refusal(found: Refused | None, rule: str, fragment: str) -> None:
    assert found is not None
    assert found.rule == rule, found
    assert fragment in found.reason


@pytest.mark.parametrize(
    ("order", "flags"),
    [
        (proposed(BUY, 1), (True, False, True, True)),  # opens
        (proposed(BUY, 1, before=1), (False, False, True, False)),  # adds
        (proposed(SELL, 1, before=2), (False, False, False, False)),  # reduces
        (proposed(SELL, 2, before=2), (False, False, False, False)),  # closes
        (proposed(SELL, 3, before=2), (False, True, True, True)),  # flips to a smaller short
    ],
)
def test_an_order_knows_what_it_does_to_the_position(
    order: ProposedOrder, flags: tuple[bool, bool, bool, bool]
) -> None:
    assert (order.opens, order.flips, order.increases, order.new_position) == flags


@pytest.mark.parametrize(
    ("state", "order", "refused"),
    [
        (TradingState.ACTIVE, proposed(BUY, 1), False),
        (TradingState.REDUCING, proposed(BUY, 1), True),
        (TradingState.REDUCING, proposed(SELL, 3, before=2), True),
        (TradingState.REDUCING, CLOSE_BTC, False),
        (TradingState.HALTED, CLOSE_BTC, True),
        (TradingState.HALTED, proposed(BUY, 1), True),
    ],
)
def test_trading_state_lets_through_what_the_state_allows(
    state: TradingState, order: ProposedOrder, refused: bool
) -> None:
    found = TradingStateRule().check(order, context(trading=state))

    assert (found is not None) == refused
    if found is not None:
        assert found.rule == "trading_state"
        assert state.value in found.reason


def test_max_open_positions_counts_account_and_pending_positions() -> None:
    rule = MaxOpenPositions(2)
    one_and_pending = context(
        account(position("BTCUSDT", "1")), pending=(pending_order("ETHUSDT"),)
    )

    refusal(rule.check(proposed(symbol="SOLUSDT"), context(TWO_OPEN)), rule.name, "2 open, limit 2")
    refusal(rule.check(proposed(symbol="SOLUSDT"), one_and_pending), rule.name, "2 open")
    assert (
        rule.check(proposed(symbol="SOLUSDT"), context(account(position("BTCUSDT", "1")))) is None
    )
    assert rule.check(proposed(BUY, 1, before=1), context(TWO_OPEN)) is None  # adds, not opens
    assert rule.check(CLOSE_BTC, context(TWO_OPEN)) is None


def test_max_positions_per_symbol_refuses_adding_but_not_flipping_or_closing() -> None:
    rule = MaxPositionsPerSymbol(1)
    held = context(account(position("BTCUSDT", "1")), entries={"BTCUSDT": 1})

    refusal(rule.check(proposed(BUY, 1, before=1), held), rule.name, "1 entries, limit 1")
    assert rule.check(proposed(SELL, 2, before=1), held) is None
    assert rule.check(CLOSE_BTC, held) is None
    assert rule.check(proposed(BUY, 1), context()) is None
    assert MaxPositionsPerSymbol(3).check(proposed(BUY, 1, before=1), held) is None


@pytest.mark.parametrize(
    ("order", "refused"),
    [
        (proposed(BUY, "50.01", 100), True),
        (proposed(BUY, 50, 100), False),
        (proposed(SELL, 20, 100, before=70), False),  # still above the cap, but shrinking
        (proposed(SELL, 120, 100, before=60), True),  # flips into a 6000 short
    ],
)
def test_max_position_notional_caps_what_one_symbol_may_hold(
    order: ProposedOrder, refused: bool
) -> None:
    found = MaxPositionNotional(D(5000)).check(order, context())

    assert (found is not None) == refused
    if found is not None:
        assert found.rule == "max_position_notional"
        assert "limit 5000 USDT" in found.reason


def test_max_gross_exposure_adds_the_order_to_positions_and_pending_orders() -> None:
    rule = MaxGrossExposure(D(20_000))
    almost_full = context(
        account(position("BTCUSDT", "150", "100")), pending=(pending_order("ETHUSDT", qty=49),)
    )

    refusal(
        rule.check(proposed(symbol="SOLUSDT", qty="1.01"), almost_full), rule.name, "20001.00 USDT"
    )
    assert rule.check(proposed(symbol="SOLUSDT", qty=1), almost_full) is None
    assert rule.check(proposed(SELL, 10, before=150), almost_full) is None


def test_max_leverage_divides_gross_exposure_by_equity() -> None:
    rule = MaxLeverage(D(5))
    held = context(account(position("BTCUSDT", "490", "100")))

    refusal(rule.check(proposed(symbol="ETHUSDT", qty=11), held), rule.name, "5.01x, limit 5x")
    assert rule.check(proposed(symbol="ETHUSDT", qty=10), held) is None
    broke = context(account(position("BTCUSDT", "1", "100", mark="50"), balance=40))
    refusal(rule.check(proposed(symbol="ETHUSDT"), broke), rule.name, "equity is -10.00")
    assert rule.check(proposed(SELL, 1, before=1), broke) is None


@pytest.mark.parametrize(
    ("order", "refused"),
    [
        (proposed(symbol="ETHUSDT", qty=100, stop=95), False),  # 100 + 500 = 6 %
        (proposed(symbol="ETHUSDT", qty=100, stop=91), False),  # 100 + 900 = 10 %, not above
        (proposed(symbol="ETHUSDT", qty=100, stop="90.9"), True),  # 100 + 910 > 10 %
        (proposed(symbol="ETHUSDT", qty=181), True),  # no stop: 5 % of 18100 = 905
        (proposed(BUY, 80, before=10, stop=95), False),  # the new stop replaces BTC's risk
        (proposed(SELL, 5, before=10), False),  # reduces
    ],
)
def test_max_total_risk_sums_stop_distance_times_size_over_equity(
    order: ProposedOrder, refused: bool
) -> None:
    held = context(account(position("BTCUSDT", "10", "100", stop="90")))

    found = MaxTotalRisk(D("0.10")).check(order, held)

    assert (found is not None) == refused
    if found is not None:
        assert found.rule == "max_total_risk"
        assert "limit 10.00%" in found.reason


def test_max_total_risk_prices_a_flip_without_the_old_stop() -> None:
    held = context(account(position("BTCUSDT", "10", "100", stop="99.9")))

    flip = proposed(SELL, 210, before=10)  # a 200 short, 5 % assumed: 1000 at risk

    assert MaxTotalRisk(D("0.10")).check(flip, held) is None
    refusal(MaxTotalRisk(D("0.09")).check(flip, held), "max_total_risk", "10.00% of equity")


def test_orders_per_minute_is_a_sliding_window_on_the_injected_time() -> None:
    rule = OrdersPerMinute(2)
    rule.record(T0)
    rule.record(T0 + 1_000)

    refusal(rule.check(proposed(), context(now=T0 + 2_000)), rule.name, "2 orders in the last")
    assert rule.check(CLOSE_BTC, context(now=T0 + 2_000)) is None
    assert rule.check(proposed(), context(now=T0 + 60_000)) is None
    assert rule.count(T0 + 61_000) == 0


def test_orders_per_minute_counts_only_approvals_up_to_now_when_the_clock_went_back() -> None:
    rule = OrdersPerMinute(5)
    rule.record(T0 + 5_000)
    rule.record(T0 + 1_000)  # the clock went back

    assert rule.count(T0 + 2_000) == 1  # the later approval is not counted before its time
    assert rule.count(T0 + 5_000) == 2
    assert rule.count(T0 + 66_000) == 0
    rule.record(T0 + 66_000)
    assert rule.count(T0 + 66_000) == 1
