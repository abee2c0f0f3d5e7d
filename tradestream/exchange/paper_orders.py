"""The paper exchange's record of each order, folded from matching-engine events.

The engine reports what happened (accepted, filled, cancelled...); the paper exchange must also
answer queries the way Bybit does (``order``, ``executions``), so each order keeps Bybit's
status, running totals and executions here and renders them as the same snapshots the Bybit
adapter reads from REST. The fold mirrors the simulator's, so paper and simulator agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradestream.schemas.exchange import ExchangeOrderStatus, ExecutionSnapshot, OrderSnapshot
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)

_ZERO = Decimal(0)
_S = ExchangeOrderStatus
OPEN = frozenset({_S.NEW, _S.PARTIALLY_FILLED, _S.UNTRIGGERED})


@dataclass(slots=True)
class PaperOrder:
    """One order as the paper exchange reports it."""

    order_link_id: str
    order_id: str
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
    notional: Decimal = _ZERO
    reject_reason: str = ""
    executions: list[ExecutionSnapshot] = field(default_factory=list)

    @classmethod
    def from_command(
        cls, command: PlaceOrder, link_id: str, order_id: str, now_ms: int
    ) -> PaperOrder:
        """Start the record of a fitted ``PlaceOrder``."""
        return cls(
            order_link_id=link_id,
            order_id=order_id,
            engine_id=link_id,
            symbol=command.symbol,
            side=command.side,
            order_type=command.order_type,
            qty=command.qty,
            price=command.price,
            time_in_force=command.time_in_force,
            reduce_only=command.reduce_only,
            created_ms=now_ms,
            updated_ms=now_ms,
        )

    @property
    def is_open(self) -> bool:
        """Tell whether the order can still fill."""
        return self.status in OPEN

    def apply(self, event: OrderEvent) -> None:
        """Fold one engine event (already carrying our ``orderLinkId``) into the record."""
        self.updated_ms = event.occurred_at_ms
        if isinstance(event, OrderAccepted):
            self.status = _S.NEW
        elif isinstance(event, OrderFilled | OrderPartiallyFilled):
            self._fill(event)
        elif isinstance(event, OrderCancelled | OrderExpired):
            self.status = _S.PARTIALLY_FILLED_CANCELED if self.cum_qty else _S.CANCELLED
            self.reject_reason = event.reason
        elif isinstance(event, OrderRejected):
            self.status = _S.REJECTED
            self.reject_reason = event.reason

    def snapshot(self) -> OrderSnapshot:
        """Describe the order as Bybit's ``order/realtime`` would."""
        return OrderSnapshot(
            order_link_id=self.order_link_id,
            order_id=self.order_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            qty=self.qty,
            price=self.price,
            time_in_force=self.time_in_force,
            reduce_only=self.reduce_only,
            order_status=self.status,
            cum_exec_qty=self.cum_qty,
            avg_price=self.notional / self.cum_qty if self.cum_qty else _ZERO,
            leaves_qty=self.qty - self.cum_qty if self.is_open else _ZERO,
            reject_reason=self.reject_reason,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
        )

    def _fill(self, event: OrderFilled | OrderPartiallyFilled) -> None:
        self.cum_qty += event.exec_qty
        self.notional += event.exec_qty * event.exec_price
        self.status = _S.FILLED if isinstance(event, OrderFilled) else _S.PARTIALLY_FILLED
        self.executions.append(
            ExecutionSnapshot(
                exec_id=event.exec_id,
                order_link_id=self.order_link_id,
                order_id=self.order_id,
                symbol=self.symbol,
                side=self.side,
                exec_qty=event.exec_qty,
                exec_price=event.exec_price,
                exec_fee=event.exec_fee,
                is_maker=event.is_maker,
                exec_time_ms=event.occurred_at_ms,
            )
        )
