"""When the kill switch trips, and the cancels and closes it sends (deterministic per episode)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import T0, account, position
from tradestream.core.errors import HaltError
from tradestream.core.orders import ORDER_LINK_ID_PATTERN, order_link_id_for
from tradestream.core.risk import HaltOrders, OrderRef, RiskConfig, close_command_id, trip_trigger
from tradestream.schemas.account import AccountState
from tradestream.schemas.orders import OrderType, Side
from tradestream.schemas.trading import KillSwitchTrigger

D = Decimal
CONFIG = RiskConfig(max_daily_loss_usdt=D(600), max_drawdown=D("0.20"))


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        # 10000 opening equity, 5 %: a loss of 500 trips, 499.90 does not.
        (account(position("BTCUSDT", "10", "100", mark="50")), "daily_loss"),
        (account(position("BTCUSDT", "10", "100", mark="50.01")), None),
        # Realized and fees count too: 9000 at a 9500 open is 5.3 % down.
        (account(balance=9_000, day_open=9_500, peak=9_500), "daily_loss"),
        (account(position("BTCUSDT", "1", "100", realized="-300", fees="10")), None),
        # 20000 opening equity: 600 USDT (3 %) reaches the absolute limit first.
        (account(position("BTCUSDT", "10", "100", mark="40"), balance=20_000), "daily_loss"),
        (account(position("BTCUSDT", "10", "100", mark="40.1"), balance=20_000), None),
        # 20 % below the peak trips, on a day that itself lost nothing.
        (account(balance=8_000, day_open=8_000, peak=10_000), "drawdown"),
        (account(balance=8_001, day_open=8_001, peak=10_000), None),
    ],
)
def test_trips_on_daily_loss_or_drawdown(state: AccountState, trigger: str | None) -> None:
    found = trip_trigger(state, CONFIG)

    assert (found[0].value if found else None) == trigger


def test_the_daily_loss_is_a_fraction_of_the_opening_equity_or_usdt_whichever_first() -> None:
    fraction = account(balance=9_000, day_open=9_480, peak=9_480)  # 480 >= 5 % of 9480
    usdt = account(balance=40_000, day_open=40_600, peak=40_600)  # 600 USDT, only 1.5 %

    assert trip_trigger(fraction, CONFIG) is not None
    found = trip_trigger(usdt, CONFIG)
    assert found is not None
    assert found[0] is KillSwitchTrigger.DAILY_LOSS
    assert "600" in found[1]


def test_limits_can_be_measured_from_a_reset_instead() -> None:
    state = account(balance=8_000, day_open=10_000, peak=10_000)

    assert trip_trigger(state, CONFIG) is not None
    assert trip_trigger(state, CONFIG, day_open=D(8_100), peak=D(8_100)) is None


def test_close_ids_derive_from_the_episode_and_symbol() -> None:
    assert close_command_id(3, "BTCUSDT") == "ks-3-BTCUSDT"
    assert close_command_id(3, "BTCUSDT", 2) == "ks-3-BTCUSDT-2"


def test_a_trip_closes_every_position_reduce_only_at_market_with_stable_ids() -> None:
    held = account(position("BTCUSDT", "0.5"), position("ETHUSDT", "-2"), position("SOLUSDT", "0"))
    first, again = HaltOrders(10_000), HaltOrders(10_000)
    first.start(4)
    again.start(4)

    closes = first.closes(held, T0)

    assert [(c.symbol, c.side, c.qty) for c in closes] == [
        ("BTCUSDT", Side.SELL, D("0.5")),
        ("ETHUSDT", Side.BUY, D(2)),
    ]
    assert all(c.reduce_only and c.order_type is OrderType.MARKET for c in closes)
    assert [c.command_id for c in closes] == ["ks-4-BTCUSDT", "ks-4-ETHUSDT"]
    assert closes == again.closes(held, T0)  # a replay sends the same orders
    for close in closes:
        assert ORDER_LINK_ID_PATTERN.fullmatch(order_link_id_for(close))


def test_a_close_is_sent_again_only_when_the_position_moved_or_it_is_overdue() -> None:
    halt = HaltOrders(retry_ms=10_000)
    halt.start(1)
    halt.closes(account(position("BTCUSDT", "2", ts=T0)), T0)

    assert halt.closes(account(position("BTCUSDT", "2", ts=T0)), T0 + 5_000) == ()
    moved = halt.closes(account(position("BTCUSDT", "0.5", ts=T0 + 6_000)), T0 + 6_000)
    overdue = halt.closes(account(position("BTCUSDT", "0.5", ts=T0 + 6_000)), T0 + 16_000)

    assert [(c.command_id, c.leg, c.qty) for c in moved] == [("ks-1-BTCUSDT-1", 1, D("0.5"))]
    assert [c.leg for c in overdue] == [2]
    assert order_link_id_for(moved[0]) != order_link_id_for(overdue[0])


def test_a_position_that_will_not_close_halts_the_worker() -> None:
    halt = HaltOrders(retry_ms=1)
    halt.start(1)
    stuck = account(position("BTCUSDT", "1"))
    for step in range(100):
        halt.closes(stuck, T0 + step)

    with pytest.raises(HaltError, match="still open"):
        halt.closes(stuck, T0 + 100)


def test_each_open_order_is_cancelled_once_per_episode() -> None:
    halt = HaltOrders(10_000)
    halt.start(2)
    refs = [OrderRef("ETHUSDT", "momentum-b"), OrderRef("BTCUSDT", "momentum-a")]

    cancels = halt.cancels(refs, T0)

    assert [(c.symbol, c.order_link_id, c.command_id) for c in cancels] == [
        ("BTCUSDT", "momentum-a", "ks-2-x-momentum-a"),
        ("ETHUSDT", "momentum-b", "ks-2-x-momentum-b"),
    ]
    assert halt.cancels(refs, T0 + 1) == ()
    halt.start(3)
    assert len(halt.cancels(refs, T0 + 2)) == 2
