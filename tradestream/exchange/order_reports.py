"""Report what the exchange says of one order, when we had to ask (a query by ``orderLinkId``).

Reconciliation and the in-flight check ask the exchange about an order whose news we may have
missed. Its answer (the order and its executions) becomes the same order events a push would
have brought, stamped with the exchange's own times (execution time, last update), so an event
reported twice — pushed and queried, or queried by two workers — carries the same natural key
(order, kind, execution id) and lands once downstream.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tradestream.schemas.exchange import ExchangeOrderStatus, ExecutionSnapshot, OrderSnapshot
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderType,
    TimeInForce,
)

_S = ExchangeOrderStatus
_ENDED = frozenset({_S.CANCELLED, _S.PARTIALLY_FILLED_CANCELED, _S.DEACTIVATED})
_ZERO = Decimal(0)


def reports_of(order: OrderSnapshot, executions: Iterable[ExecutionSnapshot]) -> list[OrderEvent]:
    """Return the events that bring an order from nothing to the state ``order`` shows."""
    updated = order.updated_ms or order.created_ms
    base = {"order_link_id": order.order_link_id, "symbol": order.symbol}
    if order.order_status is _S.REJECTED:
        reason = order.reject_reason or "rejected by the exchange"
        return [OrderRejected(**base, occurred_at_ms=updated, reason=reason)]
    events: list[OrderEvent] = [
        OrderAccepted(
            **base,
            occurred_at_ms=order.created_ms or updated,
            order_id=order.order_id,
            side=order.side,
            order_type=order.order_type,
            qty=order.qty,
            price=order.price,
            time_in_force=order.time_in_force,
            reduce_only=order.reduce_only,
        )
    ]
    events += _fills(order, executions)
    if order.order_status in _ENDED:
        reason = order.reject_reason or f"the exchange reports {order.order_status}"
        ended = OrderExpired if _ended_by_time_in_force(order) else OrderCancelled
        events.append(
            ended(**base, occurred_at_ms=updated, cum_qty=order.cum_exec_qty, reason=reason)
        )
    return events


def unknown_order(symbol: str, order_link_id: str, now_ms: int) -> OrderFailed:
    """Report an order the exchange does not know: it never arrived, nothing is live."""
    return OrderFailed(
        order_link_id=order_link_id,
        symbol=symbol,
        occurred_at_ms=now_ms,
        reason="not found at the exchange by orderLinkId: it never arrived",
    )


def _fills(order: OrderSnapshot, executions: Iterable[ExecutionSnapshot]) -> list[OrderEvent]:
    events: list[OrderEvent] = []
    cum = notional = _ZERO
    for fill in sorted(executions, key=lambda e: (e.exec_time_ms, e.exec_id)):
        cum += fill.exec_qty
        notional += fill.exec_qty * fill.exec_price
        leaves = max(order.qty - cum, _ZERO)
        done = leaves == 0 or (order.order_status is _S.FILLED and cum >= order.cum_exec_qty)
        kind = OrderFilled if done else OrderPartiallyFilled
        events.append(
            kind(
                order_link_id=order.order_link_id,
                symbol=order.symbol,
                occurred_at_ms=fill.exec_time_ms,
                exec_id=fill.exec_id,
                side=fill.side,
                exec_qty=fill.exec_qty,
                exec_price=fill.exec_price,
                exec_fee=fill.exec_fee,
                is_maker=fill.is_maker,
                cum_qty=cum,
                avg_price=notional / cum,
                leaves_qty=_ZERO if done else leaves,
            )
        )
    return events


def _ended_by_time_in_force(order: OrderSnapshot) -> bool:
    if order.order_type is OrderType.MARKET:
        return True
    return order.time_in_force in {TimeInForce.IOC, TimeInForce.FOK}
