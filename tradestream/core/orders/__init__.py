"""Orders: the order state machine, its audit trail and deterministic client order ids."""

from tradestream.core.orders.client_id import (
    MAX_ORDER_LINK_ID_LENGTH,
    ORDER_LINK_ID_PATTERN,
    order_link_id,
    order_link_id_for,
)
from tradestream.core.orders.events import apply_event
from tradestream.core.orders.order import Order, OverfillError, Transition
from tradestream.core.orders.status import TERMINAL, TRANSITIONS, OrderStatus, is_allowed

__all__ = [
    "MAX_ORDER_LINK_ID_LENGTH",
    "ORDER_LINK_ID_PATTERN",
    "TERMINAL",
    "TRANSITIONS",
    "Order",
    "OrderStatus",
    "OverfillError",
    "Transition",
    "apply_event",
    "is_allowed",
    "order_link_id",
    "order_link_id_for",
]
