"""The simulator's record of each order and execution, kept in Bybit's shape.

The matching engine reports past-tense events; ``OrderRecord`` folds them into what Bybit's
``/v5/order/realtime`` and the private ``order`` topic show (status, cumulative qty, value, fee),
and ``wire`` functions render records, executions and positions as Bybit's JSON strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradestream.core.matching import Position
from tradestream.schemas.exchange import ExchangeOrderStatus
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderType,
    Side,
    TimeInForce,
)

_ZERO = Decimal(0)
_S = ExchangeOrderStatus
OPEN = frozenset({_S.NEW, _S.PARTIALLY_FILLED, _S.UNTRIGGERED})
"""Statuses ``/v5/order/realtime`` lists as open."""

Wire = dict[str, object]


@dataclass(slots=True)
class OrderRecord:
    """One order as the simulated exchange reports it."""

    order_id: str
    order_link_id: str
    engine_id: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    reduce_only: bool
    created_ms: int
    updated_ms: int
    status: ExchangeOrderStatus = _S.NEW
    cum_qty: Decimal = _ZERO
    cum_value: Decimal = _ZERO
    cum_fee: Decimal = _ZERO
    reject_reason: str = "EC_NoError"
    executions: list[Wire] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Tell whether the order can still fill."""
        return self.status in OPEN

    def apply(self, event: OrderEvent, now_ms: int) -> Wire | None:
        """Fold one engine event into the record; return the execution it adds, if any."""
        self.updated_ms = now_ms
        if isinstance(event, OrderAccepted):
            self.status = _S.NEW
        elif isinstance(event, OrderFilled | OrderPartiallyFilled):
            return self._fill(event, now_ms)
        elif isinstance(event, OrderCancelled | OrderExpired):
            self.status = _S.PARTIALLY_FILLED_CANCELED if self.cum_qty else _S.CANCELLED
            self.reject_reason = "EC_NoError" if isinstance(event, OrderCancelled) else "EC_IOC"
        elif isinstance(event, OrderRejected):
            self.status = _S.REJECTED
            self.reject_reason = event.reason
        return None

    def _fill(self, event: OrderFilled | OrderPartiallyFilled, now_ms: int) -> Wire:
        self.cum_qty += event.exec_qty
        self.cum_value += event.exec_qty * event.exec_price
        self.cum_fee += event.exec_fee
        self.status = _S.FILLED if isinstance(event, OrderFilled) else _S.PARTIALLY_FILLED
        execution: Wire = {
            "category": "linear",
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "side": str(self.side),
            "orderPrice": _text(self.price),
            "orderQty": str(self.qty),
            "leavesQty": str(self.qty - self.cum_qty),
            "orderType": str(self.order_type),
            "execFee": str(event.exec_fee),
            "execId": f"{self.order_id}-{len(self.executions) + 1}",
            "execPrice": str(event.exec_price),
            "execQty": str(event.exec_qty),
            "execType": "Trade",
            "execValue": str(event.exec_qty * event.exec_price),
            "execTime": str(now_ms),
            "isMaker": event.is_maker,
        }
        self.executions.append(execution)
        return execution

    def wire(self) -> Wire:
        """Render the record as Bybit's order JSON."""
        avg = self.cum_value / self.cum_qty if self.cum_qty else None
        leaves = _ZERO if not self.is_open else self.qty - self.cum_qty
        return {
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "symbol": self.symbol,
            "side": str(self.side),
            "orderType": str(self.order_type),
            "price": _text(self.price),
            "qty": str(self.qty),
            "timeInForce": str(self.time_in_force),
            "reduceOnly": self.reduce_only,
            "orderStatus": str(self.status),
            "cumExecQty": str(self.cum_qty),
            "cumExecValue": str(self.cum_value),
            "cumExecFee": str(self.cum_fee),
            "avgPrice": _text(avg),
            "leavesQty": str(leaves),
            "rejectReason": self.reject_reason,
            "positionIdx": 0,
            "category": "linear",
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms),
        }


def position_wire(position: Position, leverage: Decimal, mark: Decimal | None) -> Wire:
    """Render a netted position as Bybit's one-way-mode position JSON."""
    side = "" if position.is_flat else ("Buy" if position.size > 0 else "Sell")
    mark_price = mark or position.entry_price
    return {
        "symbol": position.symbol,
        "side": side,
        "size": str(abs(position.size)),
        "avgPrice": str(position.entry_price),
        "positionValue": str(abs(position.size) * position.entry_price),
        "leverage": str(leverage),
        "markPrice": str(mark_price),
        "unrealisedPnl": str(position.unrealized_pnl(mark_price)),
        "cumRealisedPnl": str(position.realized_pnl),
        "positionIdx": 0,
        "category": "linear",
    }


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)
