"""The one interface every exchange adapter implements, and the error its calls raise.

The execution agent, the order gateway and the backtester see only ``Exchange``: Bybit (via
pybit) and the in-process paper exchange are interchangeable behind it. A failed call raises
``ExchangeError`` carrying the ``Outcome`` that decides what the caller does next (retry, query
by ``orderLinkId``, give up), so the decision is made once in ``core.resilience`` and not per
adapter. Asynchronous order updates (acks, fills, cancels) arrive as our order events through the
handlers given to ``subscribe``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from tradestream.core.errors import TradestreamError
from tradestream.core.resilience import Outcome
from tradestream.schemas.exchange import (
    ExecutionSnapshot,
    InstrumentInfo,
    OrderAck,
    OrderSnapshot,
    PositionSnapshot,
    WalletBalance,
)
from tradestream.schemas.orders import (
    AmendOrder,
    CancelOrder,
    OrderEvent,
    PlaceOrder,
    StopTrigger,
)

EventHandler = Callable[[OrderEvent], None]
"""Receive one order event; called on the event loop, must not block."""


class ExchangeError(TradestreamError):
    """Report a call the exchange refused or that failed, with what to do about it."""

    def __init__(
        self,
        outcome: Outcome,
        message: str,
        *,
        ret_code: int | None = None,
        retry_after_s: float = 0.0,
    ) -> None:
        super().__init__(f"{outcome}: {message}" + (f" (retCode {ret_code})" if ret_code else ""))
        self.outcome = outcome
        self.ret_code = ret_code
        self.retry_after_s = retry_after_s


class Exchange(Protocol):
    """Trade one USDT-perpetual account: orders, positions, balance and instrument rules."""

    async def place(self, command: PlaceOrder) -> OrderAck:
        """Send a new order under the ``orderLinkId`` derived from ``command``."""
        ...

    async def amend(self, command: AmendOrder) -> OrderAck:
        """Change the qty and/or price of an open order."""
        ...

    async def cancel(self, command: CancelOrder) -> OrderAck:
        """Cancel an open order by its ``orderLinkId``."""
        ...

    async def cancel_all(self, symbol: str) -> list[str]:
        """Cancel every open order of ``symbol``; return their ``orderLinkId``s."""
        ...

    async def order(self, symbol: str, order_link_id: str) -> OrderSnapshot | None:
        """Return the order with this ``orderLinkId`` (open or recent), or None if unknown."""
        ...

    async def executions(self, symbol: str, order_link_id: str) -> list[ExecutionSnapshot]:
        """Return the executions of one order, oldest first."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        """Return open orders, of one symbol or all."""
        ...

    async def positions(self, symbol: str | None = None) -> list[PositionSnapshot]:
        """Return positions, of one symbol or every open one."""
        ...

    async def wallet_balance(self) -> WalletBalance:
        """Return the USDT balance, equity and what is available for new orders."""
        ...

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set the leverage of ``symbol`` (both sides)."""
        ...

    async def set_trading_stop(
        self,
        symbol: str,
        *,
        take_profit: Decimal | None,
        stop_loss: Decimal | None,
        trigger_by: StopTrigger = StopTrigger.MARK,
    ) -> None:
        """Attach a take-profit and/or stop-loss to the whole position of ``symbol`` (0 removes).

        The exchange closes the position at market once ``trigger_by`` crosses a level; setting
        the levels it already holds is not an error.
        """
        ...

    async def instrument(self, symbol: str) -> InstrumentInfo:
        """Return the tick size, qty step and minimums of ``symbol``."""
        ...

    def subscribe(self, handler: EventHandler) -> None:
        """Deliver every later order event to ``handler``."""
        ...
