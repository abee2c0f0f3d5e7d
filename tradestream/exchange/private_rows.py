"""Turn Bybit private-topic rows into order events exactly once, whichever way they arrive.

The same order rows and execution rows reach us twice over: pushed on the private WebSocket, and
fetched over REST when reconciling after a reconnect (the WebSocket does not replay what was
pushed while we were away). ``PrivateRows`` is the one place both go through, so an execution is
reported once (by ``execId``, see ``ExecutionTotals``) and an order's status change once, and it
remembers which orders are still live so reconciliation knows what to ask about.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tradestream.exchange import bybit_wire as wire
from tradestream.schemas.exchange import ExchangeOrderStatus
from tradestream.schemas.orders import OrderEvent

_S = ExchangeOrderStatus
_FINAL = frozenset(
    {_S.FILLED, _S.CANCELLED, _S.PARTIALLY_FILLED_CANCELED, _S.DEACTIVATED, _S.REJECTED}
)


class PrivateRows:
    """Map ``order`` and ``execution`` rows to events, skipping what was already reported."""

    def __init__(self) -> None:
        self._totals = wire.ExecutionTotals()
        self._status: dict[str, ExchangeOrderStatus] = {}
        self._live: dict[str, str] = {}
        self._unfilled: dict[str, Decimal] = {}

    def track(self, order_link_id: str, symbol: str) -> None:
        """Remember an order we placed, so a reconnect asks about it even if no row came yet."""
        if self._status.get(order_link_id) not in _FINAL:
            self._live[order_link_id] = symbol

    def live(self) -> dict[str, str]:
        """Return the ``orderLinkId`` → symbol of every order not known to be finished."""
        return dict(self._live)

    def known(self, order_link_id: str) -> bool:
        """Tell whether any row or placement of this order was seen."""
        return order_link_id in self._live or order_link_id in self._status

    def on_topic(self, topic: str, rows: Iterable[wire.Row], now_ms: int) -> list[OrderEvent]:
        """Return the new events in the rows of one ``order`` or ``execution`` push."""
        if topic == "order":
            events = [self.on_order_row(row, now_ms) for row in rows]
        elif topic == "execution":
            events = [self.on_execution_row(row, now_ms) for row in rows]
        else:
            return []
        return [event for event in events if event is not None]

    def on_order_row(self, row: wire.Row, now_ms: int) -> OrderEvent | None:
        """Return the event of an order row whose status is new to us."""
        link_id = str(row.get("orderLinkId") or "")
        status = _S(str(row.get("orderStatus")))
        previous = self._status.get(link_id)
        if not link_id or previous in _FINAL or previous is status:
            return None
        self._status[link_id] = status
        self._live[link_id] = str(row["symbol"])
        if status in _FINAL:
            self._unfilled[link_id] = wire.dec(row, "cumExecQty")
            self._forget_if_done(link_id)
        return wire.order_event(row, now_ms)

    def on_execution_row(self, row: wire.Row, now_ms: int) -> OrderEvent | None:
        """Return the fill event of an execution row not seen before."""
        event = self._totals.fill_event(row, now_ms)
        self._forget_if_done(str(row.get("orderLinkId") or ""))
        return event

    # A finished order stays live until its executions are all reported: the order row may
    # overtake the execution rows, and a drop in between must not lose the fills.
    def _forget_if_done(self, link_id: str) -> None:
        cum = self._unfilled.get(link_id)
        if cum is not None and self._totals.executed_qty(link_id) >= cum:
            del self._unfilled[link_id]
            self._live.pop(link_id, None)
