"""The simulated exchange account: the matching engine over the simulator's own books.

REST handlers and the private WebSocket both talk to one ``Venue``: it turns Bybit parameters
into engine commands, keeps every order in the exchange ``Ledger`` (the paper exchange's too)
under the client's ``orderLinkId`` (the engine derives its own ids, so the ledger maps them),
refuses a duplicate ``orderLinkId`` with 110072 as Bybit does, and tells its listeners (the
private WebSocket) what changed, topic by topic. Resting orders are matched against the public
side's book whenever it moves (``on_market``), so what the simulator streams and what it fills
agree.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from pydantic import ValidationError

from tradestream.core.clock import MsClock
from tradestream.core.matching import MatchingEngine, MatchingEngineConfig, StaticBook, mid_price
from tradestream.core.matching.trading_stops import StopLevels, stop_triggered
from tradestream.core.orders import order_link_id_for
from tradestream.exchange.ledger import BYBIT_NAMING, Ledger, LedgerOrder, engine_cancel
from tradestream.schemas.orders import (
    OrderCancelRejected,
    OrderEvent,
    OrderRejected,
    PlaceOrder,
    Side,
)
from tradestream.simulator.book import Book
from tradestream.simulator.venue_orders import (
    Wire,
    execution_wire,
    order_wire,
    position_wire,
)

Listener = Callable[[str, list[Wire]], None]
"""Receive the rows of one private topic (``order``, ``execution``, ``position``, ``wallet``)."""

log = logging.getLogger(__name__)
PARAMS_ERROR = 10001
DUPLICATE_LINK_ID = 110072
ORDER_NOT_FOUND = 110001
BOOK_DEPTH = 200


class VenueError(Exception):
    """Refuse a request with Bybit's ``retCode`` and ``retMsg``."""

    def __init__(self, ret_code: int, message: str) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        self.message = message


class Venue:
    """Hold the simulated account's orders, executions, leverage and stops."""

    def __init__(
        self,
        books: Mapping[str, Book],
        clock: MsClock,
        initial_balance: Decimal,
        config: MatchingEngineConfig | None = None,
    ) -> None:
        self.engine = MatchingEngine(initial_balance, config)
        self._ledger = Ledger()
        self.orders: dict[str, LedgerOrder] = self._ledger.orders
        self.leverage: dict[str, Decimal] = {}
        self.stops: dict[str, StopLevels] = {}
        self._books = books
        self._clock = clock
        self.create_attempts: Counter[str] = Counter()
        """Create requests that reached the venue, per ``orderLinkId`` (duplicates included)."""
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Add a listener for private updates; return the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def book(self, symbol: str) -> StaticBook:
        """Return a snapshot of the public side's book of ``symbol`` as exact decimals."""
        book = self._books.get(symbol)
        if book is None:
            raise VenueError(PARAMS_ERROR, f"symbol invalid: {symbol}")
        bids = [(Decimal(p), Decimal(s)) for _, p, s in book.bids.top(BOOK_DEPTH)]
        asks = [(Decimal(p), Decimal(s)) for _, p, s in book.asks.top(BOOK_DEPTH)]
        return StaticBook(bids, asks)

    def create(self, params: Mapping[str, object]) -> LedgerOrder:
        """Place an order from Bybit ``/v5/order/create`` parameters."""
        link_id = str(params.get("orderLinkId") or uuid.uuid4().hex)
        self.create_attempts[link_id] += 1
        if link_id in self.orders:
            raise VenueError(DUPLICATE_LINK_ID, "OrderLinkedID is duplicate")
        now = self._clock()
        command = _place_command(params, link_id, now)
        record = LedgerOrder.from_command(
            command,
            link_id=link_id,
            order_id=str(uuid.uuid4()),
            engine_id=_engine_link_id(command),
            now_ms=now,
            naming=BYBIT_NAMING,
        )
        events = self.engine.place(command, self.book(command.symbol), now)
        refusal = next((e for e in events if isinstance(e, OrderRejected) and e.ret_code), None)
        if refusal is not None and refusal.ret_code is not None:
            raise VenueError(refusal.ret_code, refusal.reason)
        self._ledger.add(record)
        self._publish(events, now)
        return record

    def cancel(self, symbol: str, link_id: str) -> LedgerOrder:
        """Cancel an open order by ``orderLinkId``."""
        record = self.lookup(symbol, link_id)
        now = self._clock()
        events = self.engine.cancel(engine_cancel(record, "cancelled on request", "sim", now), now)
        refusal = next((e for e in events if isinstance(e, OrderCancelRejected)), None)
        if refusal is not None:
            raise VenueError(refusal.ret_code or ORDER_NOT_FOUND, "order not exists or too late")
        self._publish(events, now)
        return record

    def amend(self, symbol: str, link_id: str, params: Mapping[str, object]) -> LedgerOrder:
        """Change an unfilled open order's qty and/or price by re-placing it in the engine."""
        record = self.lookup(symbol, link_id)
        if record.cum_qty:
            raise VenueError(PARAMS_ERROR, "the simulator cannot amend a partially filled order")
        now = self._clock()
        self.engine.cancel(engine_cancel(record, "amended", "sim", now), now)
        record.qty = Decimal(str(params.get("qty") or record.qty))
        new_price = params.get("price")
        record.price = Decimal(str(new_price)) if new_price else record.price
        wire = order_wire(record) | {"orderLinkId": f"{link_id}.a{now}"}
        command = _place_command(wire, f"{link_id}.a{now}", now)
        self._ledger.route(record, _engine_link_id(command))
        self._publish(self.engine.place(command, self.book(symbol), now), now)
        return record

    def cancel_all(self, symbol: str) -> list[LedgerOrder]:
        """Cancel every open order of ``symbol``."""
        return [self.cancel(symbol, r.order_link_id) for r in self.open_orders(symbol)]

    def lookup(self, symbol: str, link_id: str) -> LedgerOrder:
        """Return one order of ``symbol`` or refuse with Bybit's 'order not exists'."""
        record = self._ledger.find(symbol, link_id)
        if record is None:
            raise VenueError(ORDER_NOT_FOUND, "order not exists or too late to cancel")
        return record

    def open_orders(self, symbol: str | None = None) -> list[LedgerOrder]:
        """Return open orders, oldest first."""
        return self._ledger.open_orders(symbol)

    def positions(self, symbol: str | None) -> list[Wire]:
        """Return the position of ``symbol``, or every open position, as Bybit JSON."""
        account = self.engine.account
        chosen = [account.position(symbol)] if symbol else list(account.open_positions())
        return [self._position_wire(p.symbol) for p in chosen]

    def wallet(self) -> Wire:
        """Return the unified account's USDT balance as Bybit JSON."""
        engine = self.engine
        balance, equity = engine.account.wallet_balance, engine.equity()
        available = engine.available_balance()
        return {
            "accountType": "UNIFIED",
            "totalEquity": str(equity),
            "totalWalletBalance": str(balance),
            "totalAvailableBalance": str(available),
            "coin": [
                {
                    "coin": "USDT",
                    "equity": str(equity),
                    "walletBalance": str(balance),
                    "unrealisedPnl": str(engine.account.unrealized_pnl()),
                    "availableToWithdraw": str(available),
                }
            ],
        }

    def deleverage(self, symbol: str, qty: Decimal) -> Wire:
        """Take ``qty`` off ``symbol``'s position at the mark, as Bybit's auto-deleveraging does.

        No order of ours is involved: only the position and wallet topics tell, so a client
        that follows its own executions must reconcile to notice.
        """
        position = self.engine.account.position(symbol)
        if position.size == 0:
            raise VenueError(PARAMS_ERROR, f"no position in {symbol} to deleverage")
        size = abs(position.size)
        side = Side.SELL if position.size > 0 else Side.BUY
        price = self.engine.account.mark(symbol) or position.entry_price
        self.engine.account.settle_fill(symbol, side, min(qty, size), price, Decimal(0))
        self._notify("position", [self._position_wire(symbol)])
        self._notify("wallet", [self.wallet()])
        return self._position_wire(symbol)

    def on_market(self) -> None:
        """Match resting orders against the current books (taken liquidity stays hidden).

        Then trigger the stop-losses held on positions (``/v5/position/trading-stop``) that the
        book's mid (the simulator's mark and last price) crossed: each closes its whole position
        with a reduce-only market order, as Bybit's do, whether or not any client is connected.
        """
        now = self._clock()
        for symbol in sorted({r.symbol for r in self.open_orders()}):
            self._publish(self.engine.on_book(symbol, self.book(symbol), now), now)
        for symbol in sorted(self.stops):
            self._trigger_stop(symbol)

    def _trigger_stop(self, symbol: str) -> None:
        levels = self.stops[symbol]
        size = self.engine.account.position(symbol).size
        if size == 0:
            del self.stops[symbol]  # Bybit cancels a position's TP/SL when it closes
            return
        mark = mid_price(self.book(symbol))
        if mark is None or not stop_triggered(levels, size=size, price=mark):
            return
        params = {"symbol": symbol, "side": "Sell" if size > 0 else "Buy", "orderType": "Market",
                  "qty": str(abs(size)), "reduceOnly": True, "timeInForce": "IOC"}  # fmt: skip
        try:
            self.create(params)
        except VenueError as exc:
            log.warning("%s: stop-loss %s not executed (%s); next pass", symbol, levels, exc)
            return
        del self.stops[symbol]

    def _position_wire(self, symbol: str) -> Wire:
        account = self.engine.account
        leverage = self.leverage.get(symbol, self.engine.config.leverage)
        wire = position_wire(account.position(symbol), leverage, account.mark(symbol))
        levels = self.stops.get(symbol, StopLevels())
        return wire | {
            "takeProfit": str(levels.take_profit),
            "stopLoss": str(levels.stop_loss),
            "slTriggerBy": levels.trigger_by,
            "tpslMode": "Full",
        }

    # Fold engine events into records, then tell listeners what changed on each topic.
    def _publish(self, events: Iterable[OrderEvent], now: int) -> None:
        changed: dict[str, LedgerOrder] = {}
        executions: list[Wire] = []
        for entry in self._ledger.fold(events, now):
            record = changed[entry.order.order_link_id] = entry.order
            if entry.execution is not None:
                leaves = record.qty - record.cum_qty
                executions.append(execution_wire(record, entry.execution, leaves))
        if not changed:
            return
        self._notify("order", [order_wire(r) for r in changed.values()])
        if executions:
            self._notify("execution", executions)
            symbols = {r.symbol for r in changed.values()}
            self._notify("position", [self._position_wire(s) for s in sorted(symbols)])
            self._notify("wallet", [self.wallet()])

    def _notify(self, topic: str, rows: list[Wire]) -> None:
        for listener in list(self._listeners):
            listener(topic, rows)


def _place_command(params: Mapping[str, object], link_id: str, now: int) -> PlaceOrder:
    try:
        return PlaceOrder(
            command_id=link_id,
            strategy="sim",
            signal_id=link_id,
            symbol=str(params.get("symbol", "")),
            side=str(params.get("side", "")),
            order_type=str(params.get("orderType", "")),
            qty=str(params.get("qty", "")),
            price=str(params["price"]) if params.get("price") else None,
            time_in_force=str(params.get("timeInForce") or "GTC"),
            reduce_only=bool(params.get("reduceOnly", False)),
            issued_at_ms=now,
        )
    except ValidationError as exc:
        raise VenueError(PARAMS_ERROR, f"params error: {exc.errors()[0]['msg']}") from exc


def _engine_link_id(command: PlaceOrder) -> str:
    return order_link_id_for(command)
