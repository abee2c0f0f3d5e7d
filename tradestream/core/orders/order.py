"""One order's life: status changes checked against the table, fills, and an audit trail.

Every change goes through ``Order.transition`` so that nothing bypasses the table in
``status.py`` and every change is recorded with the injected clock's time and a reason, ready for
the audit log. Fills are idempotent per execution id because Kafka delivers at least once; a fill
that would exceed the order quantity is a broken invariant (our view and the exchange's disagree)
and halts instead of being skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradestream.core.clock import MsClock
from tradestream.core.errors import BadInputError, HaltError, InvalidTransitionError
from tradestream.core.orders.status import (
    FILLABLE,
    LATE_FOR_ACK,
    LATE_FOR_SUBMIT,
    TERMINAL,
    OrderStatus,
    is_allowed,
)
from tradestream.schemas.orders import Side


class OverfillError(HaltError):
    """Stop: executions add up to more than the order quantity."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded status change of one order, for the audit log."""

    order_link_id: str
    from_status: OrderStatus
    to_status: OrderStatus
    at_ms: int
    reason: str


class Order:
    """Track one order's status, executions and history; refuse what the table forbids."""

    def __init__(
        self,
        *,
        order_link_id: str,
        symbol: str,
        side: Side,
        qty: Decimal,
        clock: MsClock,
        price: Decimal | None = None,
    ) -> None:
        if qty <= 0:
            raise BadInputError(f"order {order_link_id}: qty must be positive, got {qty}")
        self.order_link_id = order_link_id
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.price = price
        self.exchange_order_id: str | None = None
        self._clock = clock
        self._status = OrderStatus.NEW
        self._cum_qty = Decimal(0)
        self._notional = Decimal(0)
        self._exec_ids: set[str] = set()
        self._history: list[Transition] = []

    @property
    def status(self) -> OrderStatus:
        """Return the current status."""
        return self._status

    @property
    def cum_qty(self) -> Decimal:
        """Return the quantity executed so far."""
        return self._cum_qty

    @property
    def leaves_qty(self) -> Decimal:
        """Return the quantity still to execute."""
        return self.qty - self._cum_qty

    @property
    def avg_price(self) -> Decimal | None:
        """Return the volume-weighted fill price, or None before any fill."""
        return self._notional / self._cum_qty if self._cum_qty else None

    @property
    def is_terminal(self) -> bool:
        """Tell whether the order can no longer change."""
        return self._status in TERMINAL

    @property
    def history(self) -> tuple[Transition, ...]:
        """Return every recorded change, oldest first."""
        return tuple(self._history)

    def transition(self, target: OrderStatus, reason: str) -> Transition:
        """Move to ``target`` if the table allows it and record why; raise otherwise."""
        if not is_allowed(self._status, target):
            raise InvalidTransitionError(
                f"order {self.order_link_id}: cannot go from {self._status} to {target} ({reason})"
            )
        record = Transition(
            order_link_id=self.order_link_id,
            from_status=self._status,
            to_status=target,
            at_ms=self._clock(),
            reason=reason,
        )
        self._status = target
        self._history.append(record)
        return record

    def submit(self, reason: str = "sending to exchange") -> Transition:
        """Mark the request as in flight, once its client order id is reserved."""
        return self.transition(OrderStatus.PENDING_SUBMIT, reason)

    def mark_submitted(
        self, exchange_order_id: str | None = None, reason: str = "exchange accepted request"
    ) -> Transition | None:
        """Record a successful REST answer; ignore it if the WebSocket already reported more."""
        if exchange_order_id is not None:
            self.exchange_order_id = exchange_order_id
        if self._status in LATE_FOR_SUBMIT:
            return None
        return self.transition(OrderStatus.SUBMITTED, reason)

    def acknowledge(self, reason: str = "order is live on the book") -> Transition | None:
        """Record the exchange's ack; ignore it if a fill or cancel already overtook it."""
        if self._status in LATE_FOR_ACK:
            return None
        return self.transition(OrderStatus.ACKNOWLEDGED, reason)

    def apply_fill(self, exec_id: str, qty: Decimal, price: Decimal) -> Transition | None:
        """Add one execution; return None if this execution id was already applied."""
        if exec_id in self._exec_ids:
            return None
        if qty <= 0 or price <= 0:
            raise BadInputError(
                f"order {self.order_link_id}: fill {exec_id} needs positive qty and price, "
                f"got {qty} @ {price}"
            )
        if self._status not in FILLABLE:
            raise InvalidTransitionError(
                f"order {self.order_link_id}: cannot apply fill {exec_id} in status {self._status}"
            )
        if self._cum_qty + qty > self.qty:
            raise OverfillError(
                f"order {self.order_link_id}: fill {exec_id} of {qty} would bring the executed "
                f"qty to {self._cum_qty + qty}, above the order qty {self.qty}"
            )
        record = self.transition(self._status_after_fill(qty), f"fill {exec_id}: {qty} @ {price}")
        self._exec_ids.add(exec_id)
        self._cum_qty += qty
        self._notional += qty * price
        return record

    def request_cancel(self, reason: str) -> Transition:
        """Mark a cancel request as in flight."""
        return self.transition(OrderStatus.PENDING_CANCEL, reason)

    def cancel_refused(self, reason: str) -> Transition:
        """Reopen the order after the exchange refused our cancel."""
        reopened = OrderStatus.PARTIALLY_FILLED if self._cum_qty else OrderStatus.ACKNOWLEDGED
        if self._status is not OrderStatus.PENDING_CANCEL:
            raise InvalidTransitionError(
                f"order {self.order_link_id}: cannot go from {self._status} to {reopened} "
                f"(cancel refused without a pending cancel: {reason})"
            )
        return self.transition(reopened, reason)

    def mark_cancelled(self, reason: str) -> Transition:
        """Record that the order was cancelled, on our request or by the exchange."""
        return self.transition(OrderStatus.CANCELLED, reason)

    def reject(self, reason: str) -> Transition:
        """Record that the exchange or a pre-trade check refused the order."""
        return self.transition(OrderStatus.REJECTED, reason)

    def fail(self, reason: str) -> Transition:
        """Record that the order never reached the exchange, or that we gave up on it."""
        return self.transition(OrderStatus.FAILED, reason)

    def expire(self, reason: str) -> Transition:
        """Record that the order's time in force ended it."""
        return self.transition(OrderStatus.EXPIRED, reason)

    # A fill completes the order, or keeps a pending cancel pending, or leaves it partly filled.
    def _status_after_fill(self, qty: Decimal) -> OrderStatus:
        if self._cum_qty + qty == self.qty:
            return OrderStatus.FILLED
        if self._status is OrderStatus.PENDING_CANCEL:
            return OrderStatus.PENDING_CANCEL
        return OrderStatus.PARTIALLY_FILLED
