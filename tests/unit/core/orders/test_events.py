"""Exchange order events move an ``Order`` through its state machine, repeats ignored."""

from __future__ import annotations

from decimal import Decimal

from tradestream.core.orders import OrderStatus, apply_event
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderPartiallyFilled,
    OrderType,
    Side,
    TimeInForce,
)

from .conftest import OrderFactory


def _fill(link: str, n: int, cum: str, leaves: str) -> OrderFilled | OrderPartiallyFilled:
    event_type = OrderFilled if leaves == "0" else OrderPartiallyFilled
    return event_type(
        order_link_id=link,
        symbol="BTCUSDT",
        occurred_at_ms=n,
        exec_id=f"e-{n}",
        side=Side.BUY,
        exec_qty=Decimal(1),
        exec_price=Decimal(100),
        exec_fee=Decimal(0),
        is_maker=True,
        cum_qty=Decimal(cum),
        avg_price=Decimal(100),
        leaves_qty=Decimal(leaves),
    )


def test_ack_fills_and_a_late_cancel_end_filled_once(make_order: OrderFactory) -> None:
    order = make_order(qty="2")
    order.submit()
    link = order.order_link_id
    accepted = OrderAccepted(
        order_link_id=link,
        symbol="BTCUSDT",
        occurred_at_ms=0,
        order_id="x-1",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        qty=Decimal(2),
        price=Decimal(100),
        time_in_force=TimeInForce.GTC,
    )
    late_cancel = OrderCancelled(order_link_id=link, symbol="BTCUSDT", occurred_at_ms=9, reason="x")
    events = [
        accepted,
        _fill(link, 1, "1", "1"),
        _fill(link, 1, "1", "1"),
        _fill(link, 2, "2", "0"),
    ]
    for event in [*events, late_cancel]:
        apply_event(order, event)
    assert order.status is OrderStatus.FILLED
    assert order.cum_qty == Decimal(2)
    assert order.exchange_order_id == "x-1"
