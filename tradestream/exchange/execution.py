"""The execution agent's work on one command: route it through the gateway, report what happened.

``ExecutionDesk`` is what the execution agent drives (one per worker, for the symbol partitions
it owns) and what a backtest can drive without Kafka. It turns each command of ``exec.orders``
into calls on one ``Exchange`` (paper or Bybit): ``PlaceOrder`` through the ``OrderGateway``
(idempotent by ``orderLinkId``, rate-limited, circuit-broken), ``CancelOrder`` directly,
``ClosePosition`` as a reduce-only MARKET order for what the exchange says is open. Every order
event the exchange reports (acks, fills, cancels, rejections) is collected and handed back to the
caller, which publishes it on ``exec.reports``; events that arrive between commands (a resting
order filled by a later book, a private-stream push) are taken with ``take_events``.

A book top of ``md.book.top`` becomes the paper exchange's book of that symbol (one level a side:
what the topic carries), so paper orders fill against the live market.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from tradestream.core.clock import MsClock
from tradestream.core.errors import BadInputError
from tradestream.core.matching import StaticBook
from tradestream.core.orders import OrderStatus
from tradestream.exchange.base import Exchange
from tradestream.exchange.order_gateway import OrderGateway
from tradestream.exchange.paper import PaperExchange
from tradestream.schemas.market import BookTop
from tradestream.schemas.orders import (
    CancelOrder,
    ClosePosition,
    OrderCommand,
    OrderEvent,
    OrderRejected,
    OrderType,
    PlaceOrder,
    Side,
)

_REFUSED = frozenset({OrderStatus.REJECTED, OrderStatus.FAILED})


def close_signal_id(command_id: str) -> str:
    """Derive the signal id of the order that closes a position for ``command_id`` (≤ 64)."""
    if len(command_id) <= 64:
        return command_id
    return hashlib.blake2b(command_id.encode(), digest_size=16).hexdigest()


class ExecutionDesk:
    """Execute order commands on one exchange and collect the order events it reports."""

    def __init__(self, exchange: Exchange, gateway: OrderGateway, clock: MsClock) -> None:
        self._exchange = exchange
        self._gateway = gateway
        self._clock = clock
        self._events: list[OrderEvent] = []
        exchange.subscribe(self._events.append)

    def take_events(self) -> list[OrderEvent]:
        """Return the order events reported since the last call, oldest first."""
        events, self._events[:] = list(self._events), []
        return events

    def on_book_top(self, top: BookTop) -> list[OrderEvent]:
        """Give a paper exchange the valid top of a book; return the fills it caused."""
        if not isinstance(self._exchange, PaperExchange) or top.status != "valid":
            return []
        bid, ask = Decimal(top.bid_px), Decimal(top.ask_px)
        bids = [(bid, Decimal(top.bid_sz))] if bid > 0 else []
        asks = [(ask, Decimal(top.ask_sz))] if ask > 0 else []
        self._exchange.on_book(top.symbol, StaticBook(bids, asks))
        return self.take_events()

    async def execute(self, command: OrderCommand) -> list[OrderEvent]:
        """Carry out one command; return every order event reported meanwhile."""
        if isinstance(command, PlaceOrder):
            await self._place(command)
        elif isinstance(command, CancelOrder):
            await self._exchange.cancel(command)
        elif isinstance(command, ClosePosition):
            await self._close(command)
        else:
            raise BadInputError(f"the execution agent does not handle {command.kind}")
        return self.take_events()

    async def _place(self, command: PlaceOrder) -> None:
        order = await self._gateway.place(command)
        if order.status in _REFUSED and not any(
            e.order_link_id == order.order_link_id for e in self._events
        ):
            # Refused before the exchange said anything (breaker open, Redis refused, ...):
            # report it, or nothing downstream would ever hear of this order.
            reason = order.history[-1].reason if order.history else order.status.value
            self._events.append(
                OrderRejected(
                    order_link_id=order.order_link_id,
                    symbol=order.symbol,
                    occurred_at_ms=self._clock(),
                    reason=reason[:500] or "rejected",
                )
            )

    async def _close(self, command: ClosePosition) -> None:
        positions = await self._exchange.positions(command.symbol)
        size = sum((p.size if p.side is Side.BUY else -p.size for p in positions), Decimal(0))
        if size == 0:
            return  # nothing open: a redelivered close is a no-op
        qty = abs(size) if command.qty is None else min(command.qty, abs(size))
        await self._place(
            PlaceOrder(
                command_id=command.command_id,
                strategy=command.strategy,
                signal_id=close_signal_id(command.command_id),
                symbol=command.symbol,
                side=Side.SELL if size > 0 else Side.BUY,
                order_type=OrderType.MARKET,
                qty=qty,
                reduce_only=True,
                issued_at_ms=command.issued_at_ms,
            )
        )
