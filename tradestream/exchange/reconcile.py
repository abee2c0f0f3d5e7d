"""Bring a local ``Order`` to the state the exchange reports, through the state machine only.

Used when a request's outcome is unknown (timeout, 5xx, duplicate id): the exchange's answer to
a query by ``orderLinkId`` is the truth, and the order replays it as transitions (submitted, each
execution by its id, then ack / cancel / expiry / rejection), so the audit trail says how we
learned it and fills already applied from the WebSocket are not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradestream.core.orders import Order, OrderStatus
from tradestream.schemas.exchange import ExchangeOrderStatus, ExecutionSnapshot, OrderSnapshot
from tradestream.schemas.orders import OrderType, TimeInForce

_X = ExchangeOrderStatus
_ENDED = frozenset({_X.CANCELLED, _X.PARTIALLY_FILLED_CANCELED, _X.DEACTIVATED})


def local_status(snapshot: OrderSnapshot) -> OrderStatus:
    """Return the status our state machine gives an order in the exchange's ``snapshot``."""
    status = snapshot.order_status
    if status in {_X.NEW, _X.UNTRIGGERED, _X.TRIGGERED}:
        return OrderStatus.ACKNOWLEDGED
    if status is _X.PARTIALLY_FILLED:
        return OrderStatus.PARTIALLY_FILLED
    if status is _X.FILLED:
        return OrderStatus.FILLED
    if status is _X.REJECTED:
        return OrderStatus.REJECTED
    return OrderStatus.EXPIRED if _ended_by_time_in_force(snapshot) else OrderStatus.CANCELLED


def apply_snapshot(
    order: Order, snapshot: OrderSnapshot, executions: Iterable[ExecutionSnapshot]
) -> None:
    """Move ``order`` to what ``snapshot`` and its ``executions`` say, skipping known fills."""
    reason = f"exchange reports {snapshot.order_status} (queried by orderLinkId)"
    if order.status is OrderStatus.PENDING_SUBMIT:
        order.mark_submitted(snapshot.order_id, reason)
    order.exchange_order_id = snapshot.order_id
    for fill in executions:
        if not order.is_terminal:
            order.apply_fill(fill.exec_id, fill.exec_qty, fill.exec_price)
    if order.is_terminal:
        return
    target = local_status(snapshot)
    if target is OrderStatus.ACKNOWLEDGED:
        order.acknowledge(reason)
    elif target is OrderStatus.REJECTED:
        order.reject(f"{reason}: {snapshot.reject_reason}")
    elif target is OrderStatus.CANCELLED:
        order.mark_cancelled(reason)
    elif target is OrderStatus.EXPIRED:
        order.expire(reason)


def _ended_by_time_in_force(snapshot: OrderSnapshot) -> bool:
    if snapshot.order_status not in _ENDED:
        return False
    return snapshot.order_type is OrderType.MARKET or snapshot.time_in_force in {
        TimeInForce.IOC,
        TimeInForce.FOK,
    }
