"""Pending orders count until the account shows their fill, they are released, or they expire."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.trading import T0, account, context, pending_order, position
from tradestream.core.risk import PendingOrders
from tradestream.core.risk.proposal import PendingOrder, pending_totals
from tradestream.schemas.orders import Side


@pytest.fixture
def pending() -> PendingOrders:
    orders = PendingOrders(ttl_ms=30_000)
    orders.add(pending_order("BTCUSDT", link_id="a", ts=T0))
    orders.add(pending_order("ETHUSDT", Side.SELL, account_size=2, link_id="b", ts=T0))
    return orders


def test_an_order_stops_counting_once_the_account_size_moved(pending: PendingOrders) -> None:
    pending.refresh(account(position("BTCUSDT", "1"), position("ETHUSDT", "2")), T0 + 1)

    assert [p.order_link_id for p in pending] == ["b"]
    assert pending.symbols() == {"ETHUSDT"}


def test_an_order_stops_counting_when_the_size_moves_after_a_look_that_kept_it(
    pending: PendingOrders,
) -> None:
    pending.refresh(account(position("ETHUSDT", "2")), T0 + 1)
    pending.refresh(account(position("ETHUSDT", "2")), T0 + 2)
    assert len(pending) == 2

    pending.refresh(account(position("ETHUSDT", "3")), T0 + 3)
    assert [p.order_link_id for p in pending] == ["a"]


def test_the_totals_add_up_each_symbol_and_follow_every_change(pending: PendingOrders) -> None:
    pending.add(pending_order("BTCUSDT", qty=2, price=120, stop=90, link_id="c", ts=T0))
    pending.add(pending_order("BTCUSDT", Side.SELL, qty=1, price=130, link_id="d", ts=T0))

    btc = pending.totals()["BTCUSDT"]
    assert (btc.qty, btc.price, btc.stop_loss) == (Decimal(2), Decimal(100), Decimal(90))
    assert list(pending.totals()) == ["BTCUSDT", "ETHUSDT"]
    pending.release("a")
    pending.release("c")
    assert pending.totals()["BTCUSDT"].qty == Decimal(-1)
    pending.refresh(account(), T0 + 1)  # ETH's account size moved from 2 to 0
    assert list(pending.totals()) == ["BTCUSDT"]
    pending.clear()
    assert pending.totals() == {}


def test_an_order_expires_after_the_ttl(pending: PendingOrders) -> None:
    still = account(position("ETHUSDT", "2"))

    pending.refresh(still, T0 + 29_999)
    assert len(pending) == 2
    pending.refresh(still, T0 + 30_000)
    assert len(pending) == 0


def test_a_released_order_stops_counting(pending: PendingOrders) -> None:
    assert pending.release("a")
    assert not pending.release("a")
    assert [p.order_link_id for p in pending.clear()] == ["b"]
    assert len(pending) == 0


def test_the_context_counts_pending_orders_as_filled() -> None:
    view = context(
        account(position("BTCUSDT", "1", "100", stop="90")),
        pending=(
            pending_order("BTCUSDT", qty=1, price=110, stop=95),
            pending_order("SOLUSDT", Side.SELL, qty=10, price=20),
        ),
    )

    assert view.size("BTCUSDT") == Decimal(2)
    assert view.size("SOLUSDT") == Decimal(-10)
    assert view.open_count == 2
    assert view.gross_exposure() == Decimal(400)  # BTC at its mark, SOL at its order price
    assert view.symbol_risk("BTCUSDT") == Decimal(10)  # the newer stop: 2 x (100 - 95)
    assert view.open_risk() == Decimal(20)  # SOL without a stop: 5 % of 200


def test_a_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PendingOrders(0)


class NaivePending:
    """The reference: every look scans every order, every total adds them all up again."""

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms
        self.orders: dict[str, PendingOrder] = {}

    def add(self, order: PendingOrder) -> None:
        self.orders.pop(order.order_link_id, None)
        self.orders[order.order_link_id] = order

    def release(self, link_id: str) -> bool:
        return self.orders.pop(link_id, None) is not None

    def refresh(self, sizes: dict[str, Decimal], now_ms: int) -> None:
        oldest = now_ms - self.ttl_ms
        self.orders = {
            k: o
            for k, o in self.orders.items()
            if o.approved_ts_ms > oldest and sizes.get(o.symbol, Decimal(0)) == o.account_size
        }


_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
_SIZES = st.integers(0, 2)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_the_incremental_book_keeping_equals_a_full_scan_after_every_step(
    data: st.DataObject,
) -> None:
    pending, naive = PendingOrders(ttl_ms=30_000), NaivePending(ttl_ms=30_000)
    now = T0
    for _ in range(data.draw(st.integers(0, 60))):
        step = data.draw(st.sampled_from(["add", "release", "look", "wait"]))
        n = data.draw(st.integers(0, 9))
        if step == "add":
            order = pending_order(
                data.draw(st.sampled_from(_SYMBOLS)), qty=n + 1, account_size=data.draw(_SIZES),
                ts=now, stop=data.draw(st.sampled_from([None, 90, 95])), link_id=f"o{n}",
            )  # fmt: skip
            pending.add(order)
            naive.add(order)
        elif step == "release":
            assert pending.release(f"o{n}") == naive.release(f"o{n}")
        elif step == "look":
            sizes = data.draw(st.dictionaries(st.sampled_from(_SYMBOLS), _SIZES))
            pending.refresh(account(*(position(s, str(v)) for s, v in sizes.items())), now)
            naive.refresh({s: Decimal(v) for s, v in sizes.items()}, now)
        else:
            now += data.draw(st.integers(0, 20_000))
        assert sorted(o.order_link_id for o in pending) == sorted(naive.orders)
        assert dict(pending.totals()) == pending_totals(naive.orders.values())
        assert pending.symbols() == {o.symbol for o in naive.orders.values()}
