"""What an exchange tells us when asked: instruments, orders, executions, positions, balances.

These are answers to queries (REST on Bybit, method calls on the paper exchange), not events:
they describe a state at one moment. Quantities and prices are ``Decimal`` so that the steps and
ticks of an instrument are exact; ``order_status`` keeps Bybit's spelling so live and paper
answers compare directly.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from tradestream.schemas.orders import OrderLinkId, OrderType, Side, Symbol, TimeInForce

NonNegative = Annotated[Decimal, Field(ge=0)]
Positive = Annotated[Decimal, Field(gt=0)]


class ExchangeOrderStatus(StrEnum):
    """Order status as Bybit v5 spells it."""

    NEW = "New"
    PARTIALLY_FILLED = "PartiallyFilled"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    PARTIALLY_FILLED_CANCELED = "PartiallyFilledCanceled"
    REJECTED = "Rejected"
    DEACTIVATED = "Deactivated"
    UNTRIGGERED = "Untriggered"
    TRIGGERED = "Triggered"


class _Answer(BaseModel, frozen=True, extra="forbid"):
    """Share the frozen, closed shape of every exchange answer."""


class InstrumentInfo(_Answer):
    """The steps an order on one symbol must respect."""

    symbol: Symbol
    tick_size: Positive
    qty_step: Positive
    min_qty: Positive
    max_qty: Positive | None = None
    min_notional: NonNegative = Decimal(0)


class OrderAck(_Answer):
    """The exchange took a create, amend or cancel request (the order changes asynchronously)."""

    order_link_id: OrderLinkId
    order_id: str


class OrderSnapshot(_Answer):
    """One order as the exchange holds it now."""

    order_link_id: OrderLinkId
    order_id: str
    symbol: Symbol
    side: Side
    order_type: OrderType
    qty: Positive
    price: Positive | None = None
    time_in_force: TimeInForce
    reduce_only: bool = False
    order_status: ExchangeOrderStatus
    cum_exec_qty: NonNegative = Decimal(0)
    avg_price: NonNegative = Decimal(0)
    leaves_qty: NonNegative = Decimal(0)
    reject_reason: str = ""
    created_ms: int = 0
    updated_ms: int = 0


class ExecutionSnapshot(_Answer):
    """One execution (fill) of one order."""

    exec_id: str
    order_link_id: OrderLinkId
    order_id: str
    symbol: Symbol
    side: Side
    exec_qty: Positive
    exec_price: Positive
    exec_fee: Decimal
    is_maker: bool
    exec_time_ms: int


class PositionSnapshot(_Answer):
    """One symbol's netted position; ``size`` is unsigned and ``side`` is None when flat."""

    symbol: Symbol
    side: Side | None
    size: NonNegative
    entry_price: NonNegative
    leverage: Positive
    mark_price: NonNegative = Decimal(0)
    unrealised_pnl: Decimal = Decimal(0)
    take_profit: NonNegative = Decimal(0)
    stop_loss: NonNegative = Decimal(0)


class WalletBalance(_Answer):
    """The USDT account's balance as margin and risk checks need it."""

    coin: str = "USDT"
    wallet_balance: Decimal
    equity: Decimal
    available_balance: Decimal
    unrealised_pnl: Decimal = Decimal(0)
