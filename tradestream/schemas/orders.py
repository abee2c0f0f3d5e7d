"""Order commands (imperative) and order events (past tense) on ``exec.orders`` / ``exec.reports``.

Commands ask the execution agent to act; events report what an exchange (Bybit, the paper
exchange or the simulator) did. Both are frozen pydantic models validated at the boundary, so a
malformed record is rejected with a field-level reason (and dead-lettered) instead of reaching
the order state machine. Prices and quantities are ``Decimal`` (serialised as strings, exact);
times are integer milliseconds since the epoch. Enum values are spelled as Bybit v5 spells them so
they pass to the REST API unchanged. Each model carries a ``kind`` literal so a topic can hold a
discriminated union (``OrderCommand``, ``OrderEvent``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, model_validator

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,20}USDT$")]
"""A USDT linear perpetual symbol such as ``BTCUSDT``."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
"""Printable ASCII without spaces: command, signal and execution ids and strategy names."""

OrderLinkId = Annotated[
    str, StringConstraints(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_-]+$")
]
"""A Bybit ``orderLinkId``: at most 36 letters, digits, ``-`` or ``_``."""

Qty = Annotated[Decimal, Field(gt=0)]
Price = Annotated[Decimal, Field(gt=0)]
TimestampMs = Annotated[int, Field(ge=0)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Side(StrEnum):
    """Order side as Bybit spells it."""

    BUY = "Buy"
    SELL = "Sell"

    @property
    def opposite(self) -> Side:
        """Return the other side, the one that reduces a position opened by this side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """Order type as Bybit spells it."""

    MARKET = "Market"
    LIMIT = "Limit"


class TimeInForce(StrEnum):
    """Time in force as Bybit spells it."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "PostOnly"


class StopTrigger(StrEnum):
    """Which price triggers a stop the exchange holds, as Bybit spells it (``slTriggerBy``)."""

    MARK = "MarkPrice"
    LAST = "LastPrice"
    INDEX = "IndexPrice"


class _Message(BaseModel, frozen=True, extra="forbid"):
    """Share the frozen, closed shape of every order message."""


class PlaceOrder(_Message):
    """Place one order; ``(strategy, symbol, signal_id, leg)`` derive its ``orderLinkId``.

    ``stop_loss`` and ``take_profit`` are the opening signal's levels (None: none given), and
    ``atr`` its ATR in price units (None: none given). The exchange is not asked to hold them:
    the positions agent puts them on the position the order fills into, and protection acts on
    them (and sets its own exchange-side stop; the ATR sets its trailing distance).
    """

    kind: Literal["place_order"] = "place_order"
    command_id: Identifier
    strategy: Identifier
    signal_id: Identifier
    leg: int = Field(default=0, ge=0, le=99)
    symbol: Symbol
    side: Side
    order_type: OrderType
    qty: Qty
    price: Price | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    issued_at_ms: TimestampMs
    stop_loss: Price | None = None
    take_profit: Price | None = None
    atr: Price | None = None

    @model_validator(mode="after")
    def _check_price_matches_type(self) -> Self:
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise ValueError("a Limit order needs a price")
        if self.order_type is OrderType.MARKET and self.price is not None:
            raise ValueError("a Market order takes no price; use a Limit order to cap the price")
        if self.order_type is OrderType.MARKET and self.time_in_force is TimeInForce.POST_ONLY:
            raise ValueError("PostOnly applies to Limit orders only")
        levels = (self.stop_loss, self.take_profit, self.atr)
        if self.reduce_only and any(level is not None for level in levels):
            raise ValueError("a reduce-only order opens nothing: it takes no levels or ATR")
        return self


class CancelOrder(_Message):
    """Cancel one open order by its ``orderLinkId``."""

    kind: Literal["cancel_order"] = "cancel_order"
    command_id: Identifier
    strategy: Identifier
    symbol: Symbol
    order_link_id: OrderLinkId
    reason: Reason
    issued_at_ms: TimestampMs


class AmendOrder(_Message):
    """Change the quantity and/or price of one open order."""

    kind: Literal["amend_order"] = "amend_order"
    command_id: Identifier
    strategy: Identifier
    symbol: Symbol
    order_link_id: OrderLinkId
    qty: Qty | None = None
    price: Price | None = None
    issued_at_ms: TimestampMs

    @model_validator(mode="after")
    def _check_something_changes(self) -> Self:
        if self.qty is None and self.price is None:
            raise ValueError("an amend needs a new qty or a new price")
        return self


class ClosePosition(_Message):
    """Close a position (all of it when ``qty`` is None) with a reduce-only market order."""

    kind: Literal["close_position"] = "close_position"
    command_id: Identifier
    strategy: Identifier
    symbol: Symbol
    qty: Qty | None = None
    reason: Reason
    issued_at_ms: TimestampMs


class SetTradingStop(_Message):
    """Hold a stop-loss on the exchange for a whole position (``/v5/position/trading-stop``).

    The safety net for when every worker is down: the exchange closes the position at market
    once ``trigger_by`` crosses ``stop_loss``. ``command_id`` derives from the position and the
    level, so a replay sets the same stop again, which changes nothing.
    """

    kind: Literal["set_trading_stop"] = "set_trading_stop"
    command_id: Identifier
    strategy: Identifier
    symbol: Symbol
    stop_loss: Price
    trigger_by: StopTrigger = StopTrigger.MARK
    reason: Reason
    issued_at_ms: TimestampMs


class QueryOrder(_Message):
    """Ask the exchange what became of one order and report it (reconciliation, in-flight)."""

    kind: Literal["query_order"] = "query_order"
    command_id: Identifier
    symbol: Symbol
    order_link_id: OrderLinkId
    reason: Reason
    issued_at_ms: TimestampMs


class _OrderEventBase(_Message):
    """Identify the order an event is about and when the exchange reported it."""

    order_link_id: OrderLinkId
    symbol: Symbol
    occurred_at_ms: TimestampMs


class OrderSubmitted(_OrderEventBase):
    """The exchange took the request (REST answered) before any push about the order came.

    Published so that an order whose pushes are lost (a crash, a dropped stream) is still known
    and reconciliation asks the exchange about it.
    """

    kind: Literal["order_submitted"] = "order_submitted"
    order_id: Identifier | None = None


class OrderAccepted(_OrderEventBase):
    """The exchange accepted the order; it is live (resting or about to match)."""

    kind: Literal["order_accepted"] = "order_accepted"
    order_id: Identifier | None = None
    side: Side
    order_type: OrderType
    qty: Qty
    price: Price | None = None
    time_in_force: TimeInForce
    reduce_only: bool = False


class OrderRejected(_OrderEventBase):
    """The exchange (or a pre-trade check) refused the order; nothing was filled."""

    kind: Literal["order_rejected"] = "order_rejected"
    reason: Reason
    ret_code: int | None = None


class _FillEventBase(_OrderEventBase):
    """Describe one execution and the order's running totals after it."""

    exec_id: Identifier
    side: Side
    exec_qty: Qty
    exec_price: Price
    exec_fee: Decimal
    is_maker: bool
    cum_qty: Qty
    avg_price: Price
    leaves_qty: Annotated[Decimal, Field(ge=0)]

    @model_validator(mode="after")
    def _check_totals(self) -> Self:
        if self.exec_qty > self.cum_qty:
            raise ValueError(f"exec_qty {self.exec_qty} exceeds cum_qty {self.cum_qty}")
        return self


class OrderPartiallyFilled(_FillEventBase):
    """Part of the order executed; ``leaves_qty`` is still open."""

    kind: Literal["order_partially_filled"] = "order_partially_filled"

    @model_validator(mode="after")
    def _check_open(self) -> Self:
        if self.leaves_qty == 0:
            raise ValueError("a partial fill leaves some qty open; use OrderFilled for the last")
        return self


class OrderFilled(_FillEventBase):
    """The last execution of the order: it is completely filled."""

    kind: Literal["order_filled"] = "order_filled"

    @model_validator(mode="after")
    def _check_done(self) -> Self:
        if self.leaves_qty != 0:
            raise ValueError(f"a filled order leaves nothing open, not {self.leaves_qty}")
        return self


class OrderCancelled(_OrderEventBase):
    """The order was cancelled (on request, or by the exchange); ``cum_qty`` had executed."""

    kind: Literal["order_cancelled"] = "order_cancelled"
    cum_qty: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    reason: Reason


class OrderExpired(_OrderEventBase):
    """The order's time in force ended it (IOC/FOK/market remainder); ``cum_qty`` had executed."""

    kind: Literal["order_expired"] = "order_expired"
    cum_qty: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    reason: Reason


class OrderCancelRejected(_OrderEventBase):
    """The exchange refused a cancel (unknown, filled or already cancelled order); see ret_code."""

    kind: Literal["order_cancel_rejected"] = "order_cancel_rejected"
    reason: Reason
    ret_code: int | None = None


class OrderFailed(_OrderEventBase):
    """We could not get the order to the exchange, or gave up on it; nothing is live."""

    kind: Literal["order_failed"] = "order_failed"
    reason: Reason


OrderCommand = Annotated[
    PlaceOrder | CancelOrder | AmendOrder | ClosePosition | QueryOrder | SetTradingStop,
    Field(discriminator="kind"),
]
OrderEvent = Annotated[
    OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderPartiallyFilled
    | OrderFilled
    | OrderCancelled
    | OrderExpired
    | OrderCancelRejected
    | OrderFailed,
    Field(discriminator="kind"),
]

order_command_adapter: TypeAdapter[OrderCommand] = TypeAdapter(OrderCommand)
order_event_adapter: TypeAdapter[OrderEvent] = TypeAdapter(OrderEvent)
