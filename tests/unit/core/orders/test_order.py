"""One order's life: transitions, races, fills and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradestream.core.errors import BadInputError, HaltError, InvalidTransitionError
from tradestream.core.orders import TRANSITIONS, Order, OrderStatus, OverfillError

if TYPE_CHECKING:
    from tests.unit.core.orders.conftest import FakeClock, OrderFactory

S = OrderStatus
D = Decimal


def drive(order: Order, *path: S) -> Order:
    for status in path:
        order.transition(status, "test setup")
    return order


def test_each_change_is_recorded_with_the_clock_time_and_reason(
    make_order: OrderFactory, clock: FakeClock
) -> None:
    order = make_order(qty="2")
    order.submit()
    clock.advance(5)
    order.mark_submitted("bybit-1")
    clock.advance(5)
    order.acknowledge()
    clock.advance(5)
    order.apply_fill("e1", D(1), D(100))
    clock.advance(5)
    order.apply_fill("e2", D(1), D(102))

    assert [(t.from_status, t.to_status, t.at_ms) for t in order.history] == [
        (S.NEW, S.PENDING_SUBMIT, 1_000),
        (S.PENDING_SUBMIT, S.SUBMITTED, 1_005),
        (S.SUBMITTED, S.ACKNOWLEDGED, 1_010),
        (S.ACKNOWLEDGED, S.PARTIALLY_FILLED, 1_015),
        (S.PARTIALLY_FILLED, S.FILLED, 1_020),
    ]
    assert order.history[-1].reason == "fill e2: 1 @ 102"
    assert {t.order_link_id for t in order.history} == {order.order_link_id}
    assert order.status is S.FILLED
    assert order.is_terminal
    assert order.exchange_order_id == "bybit-1"
    assert (order.cum_qty, order.leaves_qty, order.avg_price) == (D(2), D(0), D(101))


def test_a_refused_change_names_the_order_and_both_states_and_changes_nothing(
    make_order: OrderFactory,
) -> None:
    order = drive(make_order(), S.PENDING_SUBMIT, S.SUBMITTED, S.ACKNOWLEDGED)

    with pytest.raises(InvalidTransitionError) as refused:
        order.transition(S.SUBMITTED, "late REST")

    assert order.order_link_id in str(refused.value)
    assert "from acknowledged to submitted" in str(refused.value)
    assert order.status is S.ACKNOWLEDGED
    assert len(order.history) == 3


def test_an_invalid_transition_is_bad_input_for_the_dead_letter_queue() -> None:
    assert issubclass(InvalidTransitionError, BadInputError)
    assert issubclass(OverfillError, HaltError)


def test_a_fill_may_arrive_before_the_ack(make_order: OrderFactory) -> None:
    order = drive(make_order(qty="1"), S.PENDING_SUBMIT, S.SUBMITTED)

    order.apply_fill("e1", D(1), D(99))

    assert order.status is S.FILLED
    assert order.acknowledge() is None
    assert order.status is S.FILLED


def test_a_late_rest_answer_keeps_the_websocket_status_and_takes_the_order_id(
    make_order: OrderFactory,
) -> None:
    order = drive(make_order(qty="2"), S.PENDING_SUBMIT)
    order.apply_fill("e1", D(1), D(99))

    assert order.mark_submitted("bybit-7") is None
    assert order.status is S.PARTIALLY_FILLED
    assert order.exchange_order_id == "bybit-7"


def test_a_rest_success_after_we_gave_up_is_refused(make_order: OrderFactory) -> None:
    order = drive(make_order(), S.PENDING_SUBMIT, S.FAILED)

    with pytest.raises(InvalidTransitionError):
        order.mark_submitted("bybit-1")


def test_fills_while_a_cancel_is_pending_keep_it_pending_until_the_last(
    make_order: OrderFactory,
) -> None:
    order = drive(make_order(qty="3"), S.PENDING_SUBMIT, S.ACKNOWLEDGED)
    order.request_cancel("signal reversed")

    order.apply_fill("e1", D(1), D(100))
    assert order.status is S.PENDING_CANCEL
    order.apply_fill("e2", D(2), D(100))
    assert order.status is S.FILLED


@pytest.mark.parametrize(("fill", "reopened"), [(None, S.ACKNOWLEDGED), ("1", S.PARTIALLY_FILLED)])
def test_a_refused_cancel_reopens_the_order(
    make_order: OrderFactory, fill: str | None, reopened: S
) -> None:
    order = drive(make_order(qty="3"), S.PENDING_SUBMIT, S.ACKNOWLEDGED)
    if fill is not None:
        order.apply_fill("e1", D(fill), D(100))
    order.request_cancel("flatten")

    order.cancel_refused("retCode 110079")

    assert order.status is reopened


def test_cancel_refused_needs_a_pending_cancel(make_order: OrderFactory) -> None:
    order = drive(make_order(qty="3"), S.PENDING_SUBMIT, S.ACKNOWLEDGED)
    order.apply_fill("e1", D(1), D(100))

    with pytest.raises(InvalidTransitionError, match="without a pending cancel"):
        order.cancel_refused("stray answer")


def test_a_redelivered_execution_is_applied_once(make_order: OrderFactory) -> None:
    order = drive(make_order(qty="2"), S.PENDING_SUBMIT, S.ACKNOWLEDGED)
    order.apply_fill("e1", D(1), D(100))

    assert order.apply_fill("e1", D(1), D(100)) is None
    assert order.cum_qty == D(1)
    assert len(order.history) == 3


def test_an_overfill_halts_and_changes_nothing(make_order: OrderFactory) -> None:
    order = drive(make_order(qty="2"), S.PENDING_SUBMIT, S.ACKNOWLEDGED)
    order.apply_fill("e1", D("1.5"), D(100))

    with pytest.raises(OverfillError, match="above the order qty 2"):
        order.apply_fill("e2", D(1), D(100))
    assert (order.status, order.cum_qty) == (S.PARTIALLY_FILLED, D("1.5"))


@pytest.mark.parametrize("path", [(), (S.PENDING_SUBMIT, S.REJECTED), (S.PENDING_SUBMIT, S.FILLED)])
def test_fills_are_refused_where_no_execution_can_happen(
    make_order: OrderFactory, path: tuple[S, ...]
) -> None:
    order = drive(make_order(qty="2"), *path)

    with pytest.raises(InvalidTransitionError, match="cannot apply fill"):
        order.apply_fill("e9", D(1), D(100))


@pytest.mark.parametrize(("qty", "price"), [("0", "100"), ("-1", "100"), ("1", "0")])
def test_fills_need_positive_qty_and_price(make_order: OrderFactory, qty: str, price: str) -> None:
    order = drive(make_order(qty="2"), S.PENDING_SUBMIT, S.ACKNOWLEDGED)

    with pytest.raises(BadInputError, match="positive qty and price"):
        order.apply_fill("e1", D(qty), D(price))


@pytest.mark.parametrize("qty", ["0", "-1"])
def test_an_order_needs_a_positive_qty(make_order: OrderFactory, qty: str) -> None:
    with pytest.raises(BadInputError, match="qty must be positive"):
        make_order(qty=qty)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        (Order.reject, S.REJECTED),
        (Order.fail, S.FAILED),
        (Order.expire, S.EXPIRED),
        (Order.mark_cancelled, S.CANCELLED),
    ],
)
def test_terminal_helpers_record_their_reason(
    make_order: OrderFactory, method: Callable[[Order, str], object], target: S
) -> None:
    order = drive(make_order(), S.PENDING_SUBMIT, S.SUBMITTED)

    method(order, "because")

    assert order.status is target
    assert order.history[-1].reason == "because"


@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_the_order_follows_the_table_exactly(order_factory: OrderFactory, targets: list[S]) -> None:
    order = order_factory()
    for target in targets:
        before = order.status
        if target in TRANSITIONS[before]:
            order.transition(target, "model")
            assert order.status is target
        else:
            with pytest.raises(InvalidTransitionError):
                order.transition(target, "model")
            assert order.status is before
    assert len(order.history) <= len(targets)
    assert all(t.to_status in TRANSITIONS[t.from_status] for t in order.history)


fills = st.lists(
    st.tuples(
        st.decimals(min_value="0.001", max_value="5", places=3),
        st.decimals(min_value="1", max_value="100000", places=2),
    ),
    min_size=1,
    max_size=10,
)


@given(fills)
def test_fills_add_up_and_the_average_lies_between_the_prices(
    order_factory: OrderFactory, executions: list[tuple[Decimal, Decimal]]
) -> None:
    total = sum((qty for qty, _ in executions), D(0))
    order = drive(order_factory(qty=str(total)), S.PENDING_SUBMIT, S.ACKNOWLEDGED)

    for n, (qty, price) in enumerate(executions):
        order.apply_fill(f"e{n}", qty, price)

    prices = [price for _, price in executions]
    assert order.cum_qty == total
    assert order.status is S.FILLED
    assert order.avg_price is not None
    assert min(prices) <= order.avg_price <= max(prices)
