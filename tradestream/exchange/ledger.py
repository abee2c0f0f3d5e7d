"""The exchange side's record of each order, folded from matching-engine events.

The engine reports what happened (accepted, filled, cancelled...) under its own ids; an exchange
must also answer queries the way Bybit does (``order/realtime``, ``execution/list``) under the
client's ``orderLinkId``. ``Ledger`` keeps one ``LedgerOrder`` per client order and folds engine
events into it, so the paper exchange and the simulator's venue report orders through one
implementation and cannot drift apart. ``OPEN`` and ``ENDED`` are Bybit's status groups, shared
with ``bybit_wire`` which reads the same statuses back.

The two exchanges differ only in the words they report (end reasons, execution ids), so that is
a ``Naming``: the paper exchange repeats the engine's words, the simulator answers with Bybit's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from tradestream.schemas.exchange import ExchangeOrderStatus, ExecutionSnapshot, OrderSnapshot
from tradestream.schemas.orders import (
    CancelOrder,
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
"""Statuses ``/v5/order/realtime`` lists as open: the order can still fill."""
ENDED = frozenset({_S.CANCELLED, _S.PARTIALLY_FILLED_CANCELED, _S.DEACTIVATED})
"""Statuses of an order taken off the book without filling completely."""
# The terms a record copies from its PlaceOrder as they are.
_TERMS = {"symbol", "side", "order_type", "qty", "price", "time_in_force", "reduce_only"}


@dataclass(frozen=True, slots=True)
class Naming:
    """Name what the engine leaves to the exchange, so each exchange answers in its own words.

    ``None`` reasons keep the engine's reason; ``exec_ids_by_order`` numbers executions
    ``<orderId>-<n>`` as Bybit does instead of keeping the engine's execution ids.
    """

    quiet_reason: str = ""
    cancelled_reason: str | None = None
    expired_reason: str | None = None
    exec_ids_by_order: bool = False


ENGINE_NAMING = Naming()
"""Repeat the engine's reasons and execution ids (the paper exchange)."""
BYBIT_NAMING = Naming("EC_NoError", "EC_NoError", "EC_IOC", exec_ids_by_order=True)
"""Answer with Bybit's ``rejectReason`` codes and execution ids (the simulator)."""


@dataclass(slots=True)
class LedgerOrder:
    """One order as an exchange reports it: Bybit's status, running totals and executions."""

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
    naming: Naming = ENGINE_NAMING
    status: ExchangeOrderStatus = _S.NEW
    cum_qty: Decimal = _ZERO
    cum_value: Decimal = _ZERO
    cum_fee: Decimal = _ZERO
    reject_reason: str = ""
    executions: list[ExecutionSnapshot] = field(default_factory=list)

    @classmethod
    def from_command(
        cls,
        command: PlaceOrder,
        *,
        link_id: str,
        order_id: str,
        engine_id: str,
        now_ms: int,
        naming: Naming = ENGINE_NAMING,
    ) -> LedgerOrder:
        """Start the record of a validated ``PlaceOrder`` the engine knows as ``engine_id``."""
        return cls(
            order_link_id=link_id,
            order_id=order_id,
            engine_id=engine_id,
            created_ms=now_ms,
            updated_ms=now_ms,
            naming=naming,
            reject_reason=naming.quiet_reason,
            **command.model_dump(include=_TERMS),
        )

    @property
    def is_open(self) -> bool:
        """Tell whether the order can still fill."""
        return self.status in OPEN

    @property
    def avg_price(self) -> Decimal | None:
        """Return the volume-weighted fill price, None before any fill."""
        return self.cum_value / self.cum_qty if self.cum_qty else None

    @property
    def leaves_qty(self) -> Decimal:
        """Return what can still fill: nothing once the order has ended."""
        return self.qty - self.cum_qty if self.is_open else _ZERO

    def apply(self, event: OrderEvent, now_ms: int) -> ExecutionSnapshot | None:
        """Fold one engine event into the record; return the execution it adds, if any."""
        self.updated_ms = now_ms
        if isinstance(event, OrderAccepted):
            self.status = _S.NEW
        elif isinstance(event, OrderFilled | OrderPartiallyFilled):
            return self._fill(event, now_ms)
        elif isinstance(event, OrderCancelled | OrderExpired):
            self.status = _S.PARTIALLY_FILLED_CANCELED if self.cum_qty else _S.CANCELLED
            self.reject_reason = self._end_reason(event)
        elif isinstance(event, OrderRejected):
            self.status = _S.REJECTED
            self.reject_reason = event.reason
        return None

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
            avg_price=self.avg_price or _ZERO,
            leaves_qty=self.leaves_qty,
            reject_reason=self.reject_reason,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
        )

    def _end_reason(self, event: OrderCancelled | OrderExpired) -> str:
        naming = self.naming
        named = naming.cancelled_reason if isinstance(event, OrderCancelled) else None
        named = naming.expired_reason if isinstance(event, OrderExpired) else named
        return event.reason if named is None else named

    def _fill(self, event: OrderFilled | OrderPartiallyFilled, now_ms: int) -> ExecutionSnapshot:
        self.cum_qty += event.exec_qty
        self.cum_value += event.exec_qty * event.exec_price
        self.cum_fee += event.exec_fee
        self.status = _S.FILLED if isinstance(event, OrderFilled) else _S.PARTIALLY_FILLED
        numbered = f"{self.order_id}-{len(self.executions) + 1}"
        execution = ExecutionSnapshot(
            exec_id=numbered if self.naming.exec_ids_by_order else event.exec_id,
            order_link_id=self.order_link_id,
            order_id=self.order_id,
            symbol=self.symbol,
            side=self.side,
            exec_qty=event.exec_qty,
            exec_price=event.exec_price,
            exec_fee=event.exec_fee,
            is_maker=event.is_maker,
            exec_time_ms=now_ms,
        )
        self.executions.append(execution)
        return execution


@dataclass(frozen=True, slots=True)
class Entry:
    """What one engine event did to the ledger: the order, the event and any execution."""

    order: LedgerOrder
    event: OrderEvent
    execution: ExecutionSnapshot | None


class Ledger:
    """Keep every order under the client's ``orderLinkId`` and fold the engine's events in."""

    def __init__(self) -> None:
        self.orders: dict[str, LedgerOrder] = {}
        self._by_engine_id: dict[str, str] = {}

    def add(self, order: LedgerOrder) -> LedgerOrder:
        """Keep ``order`` and route the engine's events about ``order.engine_id`` to it."""
        self.orders[order.order_link_id] = order
        return self.route(order, order.engine_id)

    def route(self, order: LedgerOrder, engine_id: str) -> LedgerOrder:
        """Route later engine events about ``engine_id`` (a re-placed order) to ``order``."""
        order.engine_id = engine_id
        self._by_engine_id[engine_id] = order.order_link_id
        return order

    def forget(self, link_ids: Collection[str]) -> None:
        """Drop the orders ``link_ids`` and their routes (ended orders past a kept window)."""
        for link_id in link_ids:
            self.orders.pop(link_id, None)
        routes = self._by_engine_id
        self._by_engine_id = {e: link for e, link in routes.items() if link not in link_ids}

    def find(self, symbol: str, link_id: str) -> LedgerOrder | None:
        """Return the order of ``symbol`` with this ``orderLinkId``, or None."""
        order = self.orders.get(link_id)
        return order if order is not None and order.symbol == symbol else None

    def open_orders(self, symbol: str | None = None) -> list[LedgerOrder]:
        """Return open orders, of one symbol or all, oldest first."""
        return [o for o in self.orders.values() if o.is_open and symbol in (None, o.symbol)]

    def fold(self, events: Iterable[OrderEvent], now_ms: int | None = None) -> Iterator[Entry]:
        """Fold each event about a known order in; ``now_ms`` None stamps with the event's time."""
        for event in events:
            link_id = self._by_engine_id.get(event.order_link_id)
            order = self.orders.get(link_id) if link_id is not None else None
            if order is None:
                continue
            at_ms = event.occurred_at_ms if now_ms is None else now_ms
            yield Entry(order, event, order.apply(event, at_ms))


def engine_cancel(order: LedgerOrder, reason: str, strategy: str, now_ms: int) -> CancelOrder:
    """Ask the engine to cancel ``order`` under the id it knows the order by."""
    return CancelOrder(
        command_id=f"{strategy}-cancel-{now_ms}",
        strategy=strategy,
        symbol=order.symbol,
        order_link_id=order.engine_id,
        reason=reason,
        issued_at_ms=now_ms,
    )
