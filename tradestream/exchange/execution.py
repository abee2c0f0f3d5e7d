"""The execution agent's work on one command: route it through the gateway, report what happened.

``ExecutionDesk`` is what the execution agent drives (one per worker, for the symbol partitions
it owns) and what a backtest can drive without Kafka. It turns each command of ``exec.orders``
into calls on one ``Exchange`` (paper or Bybit): ``PlaceOrder`` through the ``OrderGateway``
(idempotent by ``orderLinkId``, rate-limited, circuit-broken), ``CancelOrder`` directly,
``ClosePosition`` as a reduce-only MARKET order for what the exchange says is open. Every order
event the exchange reports (acks, fills, cancels, rejections) is collected and handed back to the
caller, which publishes it on ``exec.reports``; events that arrive between commands (a resting
order filled by a later book, a private-stream push) are taken with ``take_events`` (and
``wait_events`` wakes whoever forwards them). Commands of different symbols may execute at the
same time (the agent's keyed lanes): the events are one queue in the order they arrived, and
those of an order still being placed wait until its ``OrderSubmitted`` stands before them.

``SetTradingStop`` sets the stop-loss the exchange holds on a whole position (the protection
agent's safety net); it reports no order event: there is no order until the exchange triggers it.
A stop refused because the position closed meanwhile, or because the mark has already crossed
it (the protection agent's tighter stop closes that position), is dropped with a log line;
other refusals are raised.

``QueryOrder`` asks the exchange about one order by ``orderLinkId`` and reports its answer as
events (``order_reports``): reconciliation sends it for orders we hold open that the exchange no
longer lists. The desk itself remembers every order it sent until some event about it arrives;
``overdue`` names those silent for too long (the in-flight check), to be queried the same way.

A book top of ``md.book.top`` becomes the paper exchange's book of that symbol (one level a side:
what the topic carries), so paper orders fill against the live market.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from decimal import Decimal

from tradestream.core.clock import MsClock
from tradestream.core.errors import BadInputError, RetryableError
from tradestream.core.matching import StaticBook
from tradestream.core.orders import Order, OrderStatus, order_link_id_for
from tradestream.exchange.base import Exchange, ExchangeError
from tradestream.exchange.order_gateway import OrderGateway, followed_duplicate
from tradestream.exchange.order_reports import reports_of, unknown_order
from tradestream.exchange.paper import PaperExchange
from tradestream.schemas.exchange import PositionSnapshot
from tradestream.schemas.market import BookTop
from tradestream.schemas.orders import (
    CancelOrder,
    ClosePosition,
    OrderCommand,
    OrderEvent,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    PlaceOrder,
    QueryOrder,
    SetTradingStop,
    Side,
)

log = logging.getLogger(__name__)
_REFUSED = frozenset({OrderStatus.REJECTED, OrderStatus.FAILED})
_SENT = frozenset({OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTED})


def close_signal_id(command_id: str) -> str:
    """Derive the signal id of the order that closes a position for ``command_id`` (≤ 64)."""
    if len(command_id) <= 64:
        return command_id
    return hashlib.blake2b(command_id.encode(), digest_size=16).hexdigest()


def stop_crossed(position: PositionSnapshot, stop_loss: Decimal) -> bool:
    """Say whether ``position``'s mark already lies at or beyond ``stop_loss`` (unknown: no)."""
    mark = position.mark_price
    if not mark or position.side is None:
        return False
    return mark <= stop_loss if position.side is Side.BUY else mark >= stop_loss


class ExecutionDesk:
    """Execute order commands on one exchange and collect the order events it reports."""

    def __init__(self, exchange: Exchange, gateway: OrderGateway, clock: MsClock) -> None:
        self._exchange = exchange
        self._gateway = gateway
        self._clock = clock
        self._events: list[OrderEvent] = []
        self._arrived = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._executing = 0
        self._silent: dict[str, tuple[str, int]] = {}
        self._placing: set[str] = set()
        exchange.subscribe(self._on_event)

    @property
    def exchange(self) -> Exchange:
        """Return the exchange the desk trades on."""
        return self._exchange

    def take_events(self) -> list[OrderEvent]:
        """Return the order events reported since the last call, oldest first.

        Events of an order still being placed are held back until its ``OrderSubmitted`` is
        in front of them (a push or a paper fill can arrive before the place call returns).
        """
        if not self._placing:
            events, self._events[:] = list(self._events), []
        else:
            placing = self._placing
            events = [e for e in self._events if e.order_link_id not in placing]
            self._events[:] = [e for e in self._events if e.order_link_id in placing]
        self._arrived.clear()
        return events

    async def wait_events(self) -> None:
        """Wait until some order event is waiting to be taken and no command is executing.

        A command's own events are returned by ``execute``, in order with the ``OrderSubmitted``
        that says the order is ours; only what arrives between commands is left to be taken.
        """
        while True:
            await self._arrived.wait()
            await self._idle.wait()
            if self._arrived.is_set():
                return

    def overdue(self, now_ms: int, after_ms: int) -> list[QueryOrder]:
        """Return a query for each order sent ``after_ms`` ago that no event has mentioned."""
        return [
            QueryOrder(
                command_id=f"inflight-{link_id}",
                symbol=symbol,
                order_link_id=link_id,
                reason=f"sent {now_ms - sent_ms} ms ago and not acknowledged",
                issued_at_ms=now_ms,
            )
            for link_id, (symbol, sent_ms) in self._silent.items()
            if now_ms - sent_ms >= after_ms
        ]

    def _on_event(self, event: OrderEvent) -> None:
        self._silent.pop(event.order_link_id, None)
        self._events.append(event)
        self._arrived.set()

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
        self._executing += 1
        self._idle.clear()
        try:
            await self._dispatch(command)
        finally:
            self._executing -= 1
            if self._executing == 0:
                self._idle.set()
        return self.take_events()

    async def _dispatch(self, command: OrderCommand) -> None:
        try:
            await self._route(command)
        except ExchangeError as exc:
            # A query, cancel or close refused for the moment (rate limit, timeout, 5xx) is
            # tried again as a whole: each is safe to repeat, and the orders behind it wait.
            if exc.outcome.retryable:
                raise RetryableError(f"{command.kind} of {command.symbol} not done: {exc}") from exc
            raise

    async def _route(self, command: OrderCommand) -> None:
        if isinstance(command, PlaceOrder):
            await self._place(command)
        elif isinstance(command, CancelOrder):
            await self._exchange.cancel(command)
        elif isinstance(command, ClosePosition):
            await self._close(command)
        elif isinstance(command, QueryOrder):
            await self._query(command)
        elif isinstance(command, SetTradingStop):
            await self._set_stop(command)
        else:
            raise BadInputError(f"the execution agent does not handle {command.kind}")

    async def _set_stop(self, command: SetTradingStop) -> None:
        try:
            await self._exchange.set_trading_stop(
                command.symbol,
                take_profit=None,
                stop_loss=command.stop_loss,
                trigger_by=command.trigger_by,
            )
        except ExchangeError as exc:
            # Setting a level twice is harmless, so a transient failure is retried as it is.
            if exc.outcome.retryable:
                raise RetryableError(f"exchange stop of {command.symbol} not set: {exc}") from exc
            await self._on_stop_refused(command, exc)

    async def _on_stop_refused(self, command: SetTradingStop, refusal: ExchangeError) -> None:
        """Drop a stop a closed position no longer needs, or one the mark has already crossed.

        Bybit refuses a stop-loss on the wrong side of the price (10001): the position moved
        through the level before it could be held. That is no bad input: the protection agent's
        own stop, tighter than the exchange's safety net, is crossed too and closes the position
        under its own ids. The desk does not close it itself: the command names a level, not a
        position, and a redelivered command may meet a newer position of the same symbol.
        """
        held = [p for p in await self._exchange.positions(command.symbol) if p.size]
        if not held:
            log.info("%s: no position left, stop %s not needed", command.symbol,
                     command.stop_loss)  # fmt: skip
            return
        if not stop_crossed(held[0], command.stop_loss):
            raise refusal
        log.warning("%s: stop %s refused (%s): the mark %s has crossed it; the protection "
                    "agent's own stop closes the position", command.symbol, command.stop_loss,
                    refusal, held[0].mark_price)  # fmt: skip

    async def _query(self, command: QueryOrder) -> None:
        self._silent.pop(command.order_link_id, None)
        snapshot = await self._exchange.order(command.symbol, command.order_link_id)
        if snapshot is None:
            self._on_event(unknown_order(command.symbol, command.order_link_id, self._clock()))
            return
        fills = await self._exchange.executions(command.symbol, command.order_link_id)
        for event in reports_of(snapshot, fills):
            self._on_event(event)

    async def _place(self, command: PlaceOrder) -> None:
        link_id = order_link_id_for(command)
        self._placing.add(link_id)
        try:
            await self._place_held(command)
        finally:
            self._placing.discard(link_id)
            if self._events:
                self._arrived.set()

    async def _place_held(self, command: PlaceOrder) -> None:
        order = await self._gateway.place(command)
        link_id = order.order_link_id
        if followed_duplicate(order):
            # A redelivered command: report what the exchange holds (the first delivery's
            # reports may have died with a crashed worker); downstream drops the repeats.
            query = QueryOrder(
                command_id=command.command_id,
                symbol=order.symbol,
                order_link_id=link_id,
                reason="duplicate command",
                issued_at_ms=command.issued_at_ms,
            )
            await self._query(query)
            return
        if order.status in _REFUSED:
            self._report_refusal(order)
            return
        # Say it is ours before anything the exchange says of it, when that is still in hand.
        sent_at = next(
            (t.at_ms for t in order.history if t.to_status is OrderStatus.PENDING_SUBMIT),
            self._clock(),
        )
        submitted = OrderSubmitted(
            order_link_id=link_id,
            symbol=order.symbol,
            occurred_at_ms=sent_at,
            order_id=order.exchange_order_id,
        )
        first = next((i for i, e in enumerate(self._events) if e.order_link_id == link_id), None)
        if first is None:
            self._events.append(submitted)
            self._arrived.set()
            if order.status in _SENT:
                self._silent[link_id] = (order.symbol, self._clock())
        else:
            self._events.insert(first, submitted)

    def _report_refusal(self, order: Order) -> None:
        if any(e.order_link_id == order.order_link_id for e in self._events):
            return
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
        self._arrived.set()

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
