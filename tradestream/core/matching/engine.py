"""The one matching engine behind the paper exchange, the backtester and the simulator.

Deterministic and free of I/O: callers pass the book and the time (ms) into every call and get
back past-tense order events. An order becomes active ``latency_ms`` after it was placed (at the
first book update from then on). Active orders take liquidity level by level, paying the taker
fee; a limit order's remainder rests (GTC, PostOnly) or expires (IOC, FOK, market) and later
fills as maker, at its own price, when a book update or a trade crosses it. Fills settle into one
account: netted positions, realized PnL, fees and initial margin at one leverage. Reduce-only
orders are clipped to the position and never flip it. Codes in rejections are the ``retCode``
Bybit would send, so one classification serves paper and live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from tradestream.core.errors import HaltError
from tradestream.core.matching.account import Account
from tradestream.core.matching.book import BookView, mid_price
from tradestream.core.matching.config import MatchingEngineConfig
from tradestream.core.matching.liquidity import TakenLiquidity, VisibleLevel, sweep
from tradestream.core.matching.position import Position
from tradestream.core.matching.sim_order import SimOrder, cancel_rejected, rejected
from tradestream.core.orders.client_id import order_link_id, order_link_id_for
from tradestream.schemas.orders import (
    CancelOrder,
    ClosePosition,
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)

_ZERO = Decimal(0)
_ORDER_NOT_FOUND = 110001
_INSUFFICIENT_BALANCE = 110007
_REDUCE_ONLY_NOT_SATISFIED = 110017
_DUPLICATE_ORDER_LINK_ID = 110072
_Take = tuple[VisibleLevel, Decimal]
_ORDERS = TypeAdapter(list[SimOrder])


class MatchingEngine:
    """Fill orders against L2 books and settle them into one account."""

    def __init__(
        self, initial_balance: Decimal, config: MatchingEngineConfig | None = None
    ) -> None:
        self.config = config or MatchingEngineConfig()
        self.account = Account(initial_balance, self.config.leverage)
        self._liquidity = TakenLiquidity()
        self._pending: list[SimOrder] = []
        self._resting: dict[str, SimOrder] = {}
        self._known_ids: set[str] = set()
        self._sequence = 0

    def place(self, command: PlaceOrder, book: BookView, now_ms: int) -> list[OrderEvent]:
        """Place an order; without latency it is matched against ``book`` at once."""
        link_id = order_link_id_for(command)
        if link_id in self._known_ids:
            reason = "orderLinkId is duplicate"
            return [rejected(link_id, command.symbol, reason, _DUPLICATE_ORDER_LINK_ID, now_ms)]
        self._known_ids.add(link_id)
        self._sequence += 1
        active_at = now_ms + self.config.latency_ms
        order = SimOrder.from_command(command, link_id, f"sim-{self._sequence}", active_at)
        if self.config.latency_ms:
            self._pending.append(order)
            return []
        return self._activate(order, book, now_ms)

    def close_position(
        self, command: ClosePosition, book: BookView, now_ms: int
    ) -> list[OrderEvent]:
        """Close all (or ``qty`` of) a position with a reduce-only market order.

        The order's ``orderLinkId`` derives from the command id, so a replayed close is refused
        as a duplicate instead of closing twice.
        """
        position = self.account.position(command.symbol)
        if position.is_flat:
            link_id = order_link_id(command.strategy, command.symbol, command.command_id)
            code = _REDUCE_ONLY_NOT_SATISFIED
            return [rejected(link_id, command.symbol, "no position to close", code, now_ms)]
        order = PlaceOrder(
            command_id=command.command_id,
            strategy=command.strategy,
            signal_id=command.command_id,
            symbol=command.symbol,
            side=Side.SELL if position.size > 0 else Side.BUY,
            order_type=OrderType.MARKET,
            qty=command.qty or abs(position.size),
            reduce_only=True,
            issued_at_ms=command.issued_at_ms,
        )
        return self.place(order, book, now_ms)

    def cancel(self, command: CancelOrder, now_ms: int) -> list[OrderEvent]:
        """Cancel a resting or not yet active order."""
        link_id = command.order_link_id
        order = self._resting.get(link_id) or next(
            (o for o in self._pending if o.order_link_id == link_id), None
        )
        if order is None or order.symbol != command.symbol:
            reason = "order does not exist or is no longer open"
            return [cancel_rejected(link_id, command.symbol, reason, _ORDER_NOT_FOUND, now_ms)]
        self._resting.pop(link_id, None)
        self._pending = [o for o in self._pending if o is not order]
        return [order.cancelled(command.reason, now_ms)]

    def on_book(self, symbol: str, book: BookView, now_ms: int) -> list[OrderEvent]:
        """Fill resting orders the book now crosses, then activate orders that are due."""
        mid = mid_price(book)
        if mid is not None:
            self.account.set_mark(symbol, mid)
        events: list[OrderEvent] = []
        for side in (Side.BUY, Side.SELL):
            for order in self._by_priority(symbol, side):
                events.extend(self._fill_from_book(order, book, now_ms))
        due: list[SimOrder] = []
        waiting: list[SimOrder] = []
        for order in self._pending:
            is_due = order.symbol == symbol and order.active_at_ms <= now_ms
            (due if is_due else waiting).append(order)
        self._pending = waiting
        for order in due:
            events.extend(self._activate(order, book, now_ms))
        return events

    def on_trade(
        self, symbol: str, price: Decimal, qty: Decimal, taker_side: Side, now_ms: int
    ) -> list[OrderEvent]:
        """Fill resting orders on the other side of a public trade that crossed their price."""
        events: list[OrderEvent] = []
        left = qty
        for order in self._by_priority(symbol, taker_side.opposite):
            if left <= 0:
                break
            if self._crossed(order, price):
                new_events, filled = self._fill_resting(order, left, now_ms)
                events.extend(new_events)
                left -= filled
        return events

    def set_mark(self, symbol: str, price: Decimal) -> None:
        """Value ``symbol``'s position at ``price`` (book updates set the mid otherwise)."""
        self.account.set_mark(symbol, price)

    def position(self, symbol: str) -> Position:
        """Return the position of ``symbol``."""
        return self.account.position(symbol)

    def open_orders(self, symbol: str | None = None) -> tuple[SimOrder, ...]:
        """Return resting orders, oldest first."""
        return tuple(o for o in self._resting.values() if symbol is None or o.symbol == symbol)

    def pending_orders(self) -> tuple[SimOrder, ...]:
        """Return orders placed but not yet active, oldest first."""
        return tuple(self._pending)

    def equity(self) -> Decimal:
        """Return the wallet balance plus unrealized PnL at the marks."""
        return self.account.equity()

    def order_margin(self) -> Decimal:
        """Return the margin resting orders hold for the part that would open a position."""
        reducible: dict[tuple[str, Side], Decimal] = {}
        total = _ZERO
        for order in self._resting.values():
            if order.reduce_only or order.price is None:
                continue
            key = (order.symbol, order.side)
            left = reducible.get(key)
            if left is None:
                left = self.account.position(order.symbol).reducible_qty(order.side)
            reducible[key] = max(_ZERO, left - order.leaves_qty)
            total += max(_ZERO, order.leaves_qty - left) * order.price / self.config.leverage
        return total

    def available_balance(self) -> Decimal:
        """Return what new orders may use as margin and fees."""
        return self.account.available_balance(self.order_margin())

    def state(self) -> dict[str, Any]:
        """Describe the account and the orders still live as JSON-able data (see ``restore``).

        What our fills took from the books is left out: a book's next refresh forgets it anyway.
        """
        return {
            "account": self.account.state(),
            "resting": _ORDERS.dump_python(list(self._resting.values()), mode="json"),
            "pending": _ORDERS.dump_python(self._pending, mode="json"),
            "sequence": self._sequence,
        }

    def restore(self, state: Mapping[str, Any], known_ids: Iterable[str] = ()) -> None:
        """Take back what ``state()`` described; ``known_ids`` are refused again as duplicates."""
        self.account.restore(state["account"])
        self._resting = {o.order_link_id: o for o in _ORDERS.validate_python(state["resting"])}
        self._pending = _ORDERS.validate_python(state["pending"])
        self._sequence = int(state["sequence"])
        live = [*self._resting, *(o.order_link_id for o in self._pending)]
        self._known_ids = {*known_ids, *live}

    def _activate(self, order: SimOrder, book: BookView, now_ms: int) -> list[OrderEvent]:
        refusal = self._admit(order, book)
        if refusal is not None:
            reason, code = refusal
            return [rejected(order.order_link_id, order.symbol, reason, code, now_ms)]
        levels = self._liquidity.visible(order.symbol, order.side, book)
        takes = sweep(levels, order.side, order.qty, order.price)
        shortfall = self._margin_shortfall(order, takes)
        if shortfall > 0:
            reason = f"available balance is insufficient: short by {shortfall}"
            code = _INSUFFICIENT_BALANCE
            return [rejected(order.order_link_id, order.symbol, reason, code, now_ms)]
        taken = sum((qty for _, qty in takes), _ZERO)
        if order.time_in_force is TimeInForce.FOK and taken < order.qty:
            return [order.accepted(now_ms), order.expired("FOK cannot fill completely", now_ms)]
        events: list[OrderEvent] = [order.accepted(now_ms)]
        for level, qty in takes:
            self._liquidity.record(order.symbol, order.side, level, qty)
            events.append(self._execute(order, level.price, qty, is_maker=False, now_ms=now_ms))
        if order.leaves_qty > 0:
            events.extend(self._rest_or_expire(order, now_ms))
        return events

    # Clip a reduce-only order to the position; say why the order is refused, if it is.
    def _admit(self, order: SimOrder, book: BookView) -> tuple[str, int | None] | None:
        if order.reduce_only:
            reducible = self.account.position(order.symbol).reducible_qty(order.side)
            if reducible == 0:
                return "reduce-only order would not reduce a position", _REDUCE_ONLY_NOT_SATISFIED
            order.qty = min(order.qty, reducible)
        if order.time_in_force is TimeInForce.POST_ONLY:
            best = next(self._liquidity.visible(order.symbol, order.side, book), None)
            if best is not None and order.can_trade_at(best.price):
                return "post-only order would take liquidity", None
        return None

    # Margin for the part of the fills and of the resting remainder that opens a position.
    def _margin_shortfall(self, order: SimOrder, takes: list[_Take]) -> Decimal:
        if order.reduce_only:
            return _ZERO
        reducible = self.account.position(order.symbol).reducible_qty(order.side)
        opening = fees = _ZERO
        for level, qty in takes:
            closing = min(reducible, qty)
            reducible -= closing
            opening += (qty - closing) * level.price
            fees += self.config.fees.fee(level.price * qty, is_maker=False)
        if order.rests and order.price is not None:
            left = order.qty - sum((qty for _, qty in takes), _ZERO)
            opening += max(_ZERO, left - reducible) * order.price
        required = opening / self.config.leverage + fees
        return max(_ZERO, required - self.available_balance())

    def _rest_or_expire(self, order: SimOrder, now_ms: int) -> list[OrderEvent]:
        if order.rests:
            self._resting[order.order_link_id] = order
            return []
        if order.order_type is OrderType.MARKET:
            return [order.expired("market order ran out of book liquidity", now_ms)]
        return [order.expired(f"{order.time_in_force} remainder did not fill at once", now_ms)]

    # Resting orders of one side, best price first, then oldest first.
    def _by_priority(self, symbol: str, side: Side) -> list[SimOrder]:
        orders = [o for o in self._resting.values() if o.symbol == symbol and o.side is side]
        orders.sort(key=_limit, reverse=side is Side.BUY)
        return orders

    # A resting order fills when the market goes through its price (or touches it, if set).
    def _crossed(self, order: SimOrder, price: Decimal) -> bool:
        limit = _limit(order)
        if price == limit:
            return self.config.fill_on_touch
        return order.can_trade_at(price)

    def _fill_from_book(self, order: SimOrder, book: BookView, now_ms: int) -> list[OrderEvent]:
        crossing: list[VisibleLevel] = []
        for level in self._liquidity.visible(order.symbol, order.side, book):
            if not self._crossed(order, level.price):
                break
            crossing.append(level)
        available = sum((level.size for level in crossing), _ZERO)
        if available == 0:
            return []
        events, filled = self._fill_resting(order, available, now_ms)
        for level in crossing:
            used = min(filled, level.size)
            if used <= 0:
                break
            self._liquidity.record(order.symbol, order.side, level, used)
            filled -= used
        return events

    # Fill up to ``available`` of a resting order as maker; return the events and qty filled.
    def _fill_resting(
        self, order: SimOrder, available: Decimal, now_ms: int
    ) -> tuple[list[OrderEvent], Decimal]:
        qty = min(order.leaves_qty, available)
        position = self.account.position(order.symbol)
        if order.reduce_only:
            qty = min(qty, position.reducible_qty(order.side))
            if qty == 0:
                return [self._drop(order, "reduce-only order would open a position", now_ms)], _ZERO
        events: list[OrderEvent] = [
            self._execute(order, _limit(order), qty, is_maker=True, now_ms=now_ms)
        ]
        if order.leaves_qty == 0:
            del self._resting[order.order_link_id]
        elif order.reduce_only and position.reducible_qty(order.side) == 0:
            events.append(self._drop(order, "reduce-only remainder: position closed", now_ms))
        return events, qty

    def _drop(self, order: SimOrder, reason: str, now_ms: int) -> OrderEvent:
        del self._resting[order.order_link_id]
        return order.cancelled(reason, now_ms)

    def _execute(
        self, order: SimOrder, price: Decimal, qty: Decimal, *, is_maker: bool, now_ms: int
    ) -> OrderFilled | OrderPartiallyFilled:
        fee = self.config.fees.fee(price * qty, is_maker=is_maker)
        self.account.settle_fill(order.symbol, order.side, qty, price, fee)
        return order.record_fill(price, qty, fee, is_maker=is_maker, now_ms=now_ms)


# Only limit orders rest, so a resting order without a price means the engine broke itself.
def _limit(order: SimOrder) -> Decimal:
    if order.price is None:
        raise HaltError(f"resting order {order.order_link_id} has no limit price")
    return order.price
