"""Apply an exchange's order events to an ``Order``, through the state machine only.

Live, paper and simulated exchanges all report the same ``OrderEvent`` records; this is the one
mapping from each of them to a transition, so every consumer (the execution agent, the
backtester, tests) moves orders the same way. Repeated fills are ignored by execution id, and
an ack that arrives after a fill or cancel is ignored by ``Order.acknowledge``.
"""

from __future__ import annotations

from collections.abc import Callable

from tradestream.core.orders.order import Order, Transition
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
)

_ENDINGS: dict[type[OrderEvent], Callable[[Order, str], Transition]] = {
    OrderCancelled: Order.mark_cancelled,
    OrderExpired: Order.expire,
    OrderRejected: Order.reject,
    OrderCancelRejected: Order.cancel_refused,
    OrderFailed: Order.fail,
}
# The exchange may end an order we already saw end (a cancel racing the last fill).
_IGNORED_WHEN_TERMINAL = (OrderCancelled, OrderExpired)


def apply_event(order: Order, event: OrderEvent) -> Transition | None:
    """Move ``order`` as ``event`` reports; return the transition, or None if nothing changed."""
    if isinstance(event, OrderSubmitted):
        return order.mark_submitted(event.order_id, "exchange took the request")
    if isinstance(event, OrderAccepted):
        if event.order_id is not None:
            order.exchange_order_id = event.order_id
        return order.acknowledge(f"exchange reports {event.kind}")
    if isinstance(event, OrderFilled | OrderPartiallyFilled):
        return order.apply_fill(event.exec_id, event.exec_qty, event.exec_price)
    if order.is_terminal and isinstance(event, _IGNORED_WHEN_TERMINAL):
        return None
    return _ENDINGS[type(event)](order, event.reason)
