"""An order inside the matching engine, and the events that describe what happened to it.

Events are the same ``tradestream.schemas.orders`` records Bybit reports are translated into, so
the paper exchange, the backtester and the simulator publish what the live path publishes.
Execution ids are ``<orderLinkId>-<n>``: deterministic, so a rerun emits identical events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradestream.core.matching.liquidity import within_limit
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
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


@dataclass(slots=True)
class SimOrder:
    """One live order: what was asked, when it becomes active, and what has executed."""

    order_link_id: str
    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    reduce_only: bool
    active_at_ms: int
    cum_qty: Decimal = field(default=_ZERO)
    notional: Decimal = field(default=_ZERO)
    fills: int = 0

    @classmethod
    def from_command(
        cls, command: PlaceOrder, order_link_id: str, order_id: str, active_at_ms: int
    ) -> SimOrder:
        """Build the engine's order from a validated ``PlaceOrder``."""
        return cls(
            order_link_id=order_link_id,
            order_id=order_id,
            symbol=command.symbol,
            side=command.side,
            order_type=command.order_type,
            qty=command.qty,
            price=command.price,
            time_in_force=command.time_in_force,
            reduce_only=command.reduce_only,
            active_at_ms=active_at_ms,
        )

    @property
    def leaves_qty(self) -> Decimal:
        """Return the quantity still open."""
        return self.qty - self.cum_qty

    @property
    def avg_price(self) -> Decimal:
        """Return the volume-weighted fill price (0 before any fill)."""
        return self.notional / self.cum_qty if self.cum_qty else _ZERO

    @property
    def rests(self) -> bool:
        """Tell whether an unfilled remainder stays on the book instead of expiring."""
        return self.order_type is OrderType.LIMIT and self.time_in_force in {
            TimeInForce.GTC,
            TimeInForce.POST_ONLY,
        }

    def can_trade_at(self, price: Decimal) -> bool:
        """Tell whether the order's limit (if any) allows trading at ``price``."""
        return within_limit(self.side, price, self.price)

    def accepted(self, now_ms: int) -> OrderAccepted:
        """Describe the order as accepted by the exchange."""
        return OrderAccepted(
            order_link_id=self.order_link_id,
            symbol=self.symbol,
            occurred_at_ms=now_ms,
            order_id=self.order_id,
            side=self.side,
            order_type=self.order_type,
            qty=self.qty,
            price=self.price,
            time_in_force=self.time_in_force,
            reduce_only=self.reduce_only,
        )

    def record_fill(
        self, price: Decimal, qty: Decimal, fee: Decimal, *, is_maker: bool, now_ms: int
    ) -> OrderFilled | OrderPartiallyFilled:
        """Add one execution and describe it with the order's running totals."""
        self.cum_qty += qty
        self.notional += qty * price
        self.fills += 1
        event_type = OrderFilled if self.leaves_qty == 0 else OrderPartiallyFilled
        return event_type(
            order_link_id=self.order_link_id,
            symbol=self.symbol,
            occurred_at_ms=now_ms,
            exec_id=f"{self.order_link_id}-{self.fills}",
            side=self.side,
            exec_qty=qty,
            exec_price=price,
            exec_fee=fee,
            is_maker=is_maker,
            cum_qty=self.cum_qty,
            avg_price=self.avg_price,
            leaves_qty=self.leaves_qty,
        )

    def cancelled(self, reason: str, now_ms: int) -> OrderCancelled:
        """Describe the order as cancelled with what had executed."""
        return OrderCancelled(
            order_link_id=self.order_link_id,
            symbol=self.symbol,
            occurred_at_ms=now_ms,
            cum_qty=self.cum_qty,
            reason=reason,
        )

    def expired(self, reason: str, now_ms: int) -> OrderExpired:
        """Describe the order as ended by its time in force with what had executed."""
        return OrderExpired(
            order_link_id=self.order_link_id,
            symbol=self.symbol,
            occurred_at_ms=now_ms,
            cum_qty=self.cum_qty,
            reason=reason,
        )


def rejected(
    order_link_id: str, symbol: str, reason: str, ret_code: int | None, now_ms: int
) -> OrderRejected:
    """Describe an order the engine refused, with the ``retCode`` Bybit would have sent."""
    return OrderRejected(
        order_link_id=order_link_id,
        symbol=symbol,
        occurred_at_ms=now_ms,
        reason=reason,
        ret_code=ret_code,
    )


def cancel_rejected(
    order_link_id: str, symbol: str, reason: str, ret_code: int | None, now_ms: int
) -> OrderCancelRejected:
    """Describe a cancel the engine refused, with the ``retCode`` Bybit would have sent."""
    return OrderCancelRejected(
        order_link_id=order_link_id,
        symbol=symbol,
        occurred_at_ms=now_ms,
        reason=reason,
        ret_code=ret_code,
    )
