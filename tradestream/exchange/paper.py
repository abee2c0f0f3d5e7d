"""Trade on paper: the ``Exchange`` protocol in-process, filled by the matching engine.

The execution agent and the backtester can run against ``PaperExchange`` exactly as against
``BybitExchange``: the same rounding (``instruments``), the same refusals (``ExchangeError``
with Bybit's ``retCode``: 110072 duplicate ``orderLinkId``, 110007 insufficient balance, 110001
order not open...) and the same order events given to ``subscribe`` handlers that the Bybit
private stream produces. Fills come from ``MatchingEngine`` (the simulator's engine too, so paper
and simulator agree) over the books fed in with ``on_book`` and the trades fed with ``on_trade``.

Events are delivered synchronously, before the call that caused them returns: the order state
machine accepts a fill that overtakes the REST answer, and a backtest stays deterministic.
Instrument rules come from configuration; the four recorded symbols have Bybit's rules built in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, PositiveInt

from tradestream.core.clock import MsClock, now_ms
from tradestream.core.matching import (
    BookView,
    MatchingEngine,
    MatchingEngineConfig,
    StaticBook,
    mid_price,
)
from tradestream.core.matching.position import Position
from tradestream.core.matching.trading_stops import (
    NOT_MODIFIED,
    StopLevels,
    StopRefusedError,
    checked_levels,
    stop_triggered,
)
from tradestream.core.orders import order_link_id_for
from tradestream.core.resilience import Outcome, classify_ret_code
from tradestream.exchange.base import EventHandler, ExchangeError
from tradestream.exchange.instruments import check_notional, fit_price, fit_qty
from tradestream.exchange.ledger import Ledger, LedgerOrder, engine_cancel
from tradestream.exchange.paper_state import (
    STATE_VERSION,
    OrderHistory,
    PaperChanges,
    ledger_orders,
    restored_stops,
    stops_state,
)
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
    OrderAccepted,
    OrderCancelRejected,
    OrderEvent,
    OrderRejected,
    OrderType,
    PlaceOrder,
    Side,
    StopTrigger,
    TimeInForce,
)

log = logging.getLogger(__name__)
PARAMS_ERROR = 10001
ORDER_NOT_FOUND = 110001
DUPLICATE_LINK_ID = 110072
_EMPTY_BOOK = StaticBook()


class InstrumentRules(BaseModel, frozen=True, extra="forbid"):
    """The steps and minimums of one symbol, as Bybit's ``instruments-info`` gives them."""

    tick_size: Decimal = Field(gt=0)
    qty_step: Decimal = Field(gt=0)
    min_qty: Decimal = Field(gt=0)
    max_qty: Decimal | None = Field(default=None, gt=0)
    min_notional: Decimal = Field(default=Decimal(5), ge=0)

    def info(self, symbol: str) -> InstrumentInfo:
        """Return the rules as the adapter-neutral ``InstrumentInfo`` of ``symbol``."""
        return InstrumentInfo(symbol=symbol, **self.model_dump())


def _rules(tick: str, step: str) -> InstrumentRules:
    return InstrumentRules(tick_size=Decimal(tick), qty_step=Decimal(step), min_qty=Decimal(step))


RECORDED_INSTRUMENTS: dict[str, InstrumentRules] = {
    "BTCUSDT": _rules("0.1", "0.001"),
    "ETHUSDT": _rules("0.01", "0.01"),
    "SOLUSDT": _rules("0.01", "0.1"),
    "DOGEUSDT": _rules("0.00001", "1"),
}
"""Bybit's linear rules for the recorded symbols (5 USDT minimum order value)."""


class PaperExchangeConfig(BaseModel, frozen=True, extra="forbid"):
    """The paper account: starting balance, matching settings and instrument rules."""

    initial_balance: Decimal = Field(default=Decimal(100000), ge=0)
    engine: MatchingEngineConfig = MatchingEngineConfig()
    instruments: dict[str, InstrumentRules] = Field(
        default_factory=lambda: dict(RECORDED_INSTRUMENTS)
    )
    default_instrument: InstrumentRules | None = None
    """Rules of every symbol not in ``instruments``; None refuses such symbols, like Bybit."""
    ended_orders_kept: PositiveInt = 1000
    """How many ended orders ``order()`` and ``executions()`` still know (the newest)."""


class PaperExchange:
    """Implement ``Exchange`` over ``MatchingEngine`` and the books fed to ``on_book``."""

    def __init__(self, config: PaperExchangeConfig | None = None, clock: MsClock = now_ms) -> None:
        self.config = config or PaperExchangeConfig()
        self.engine = MatchingEngine(self.config.initial_balance, self.config.engine)
        self._clock = clock
        self._books: dict[str, BookView] = {}
        self._ledger = Ledger()
        self._leverage: dict[str, Decimal] = {}
        self._stops: dict[str, StopLevels] = {}
        self._handlers: list[EventHandler] = []
        self._counters = {"orders": 0, "amends": 0}
        self._history = OrderHistory(self.config.ended_orders_kept)

    def on_book(self, symbol: str, book: BookView) -> None:
        """Take ``symbol``'s current book: fill what it crosses, activate what is due.

        A stop-loss held on the position (``set_trading_stop``) that the book's mid crossed
        closes the whole position at market, as Bybit's would.
        """
        self._books[symbol] = book
        self._publish(self.engine.on_book(symbol, book, self._clock()))
        self._trigger_stop(symbol, book)

    def on_trade(self, symbol: str, price: Decimal, qty: Decimal, taker_side: Side) -> None:
        """Take a public trade: fill resting orders on the other side that it went through."""
        self._publish(self.engine.on_trade(symbol, price, qty, taker_side, self._clock()))

    async def place(self, command: PlaceOrder) -> OrderAck:
        """Place the order of ``command``, fitted to the instrument's steps."""
        info = await self.instrument(command.symbol)
        qty = fit_qty(info, command.qty)
        price = None if command.price is None else fit_price(info, command.price, command.side)
        check_notional(info, qty, price)
        fitted = command.model_copy(update={"qty": qty, "price": price})
        link_id = order_link_id_for(command)
        if link_id in self._ledger.orders:
            raise _refusal(DUPLICATE_LINK_ID, "orderLinkId is duplicate")
        return self._submit(fitted, link_id)

    def _submit(self, fitted: PlaceOrder, link_id: str) -> OrderAck:
        now = self._clock()
        events = self.engine.place(fitted, self._book(fitted.symbol), now)
        _raise_synchronous_refusal(events)
        order_id = f"paper-{self._next('orders')}"
        record = self._ledger.add(
            LedgerOrder.from_command(
                fitted, link_id=link_id, order_id=order_id, engine_id=link_id, now_ms=now
            )
        )
        self._history.touch(record)
        self._publish(events)
        return OrderAck(order_link_id=link_id, order_id=record.order_id)

    async def amend(self, command: AmendOrder) -> OrderAck:
        """Change an unfilled open order by re-placing it in the engine (as the simulator does)."""
        record = self._open_order(command.symbol, command.order_link_id)
        if record.cum_qty:
            raise _refusal(PARAMS_ERROR, "the paper exchange cannot amend a partially filled order")
        info = await self.instrument(command.symbol)
        record.qty = record.qty if command.qty is None else fit_qty(info, command.qty)
        if command.price is not None:
            record.price = fit_price(info, command.price, record.side)
        now = self._clock()
        self.engine.cancel(engine_cancel(record, "amended", "paper", now), now)
        replacement = PlaceOrder(
            command_id=f"amend-{self._next('amends')}",
            strategy="paper",
            signal_id=f"{record.order_link_id}.{now}.{self._next('amends')}",
            symbol=record.symbol,
            side=record.side,
            order_type=record.order_type,
            qty=record.qty,
            price=record.price,
            time_in_force=record.time_in_force,
            reduce_only=record.reduce_only,
            issued_at_ms=now,
        )
        self._ledger.route(record, order_link_id_for(replacement))
        self._history.touch(record)
        self._publish(self.engine.place(replacement, self._book(record.symbol), now))
        return OrderAck(order_link_id=record.order_link_id, order_id=record.order_id)

    async def cancel(self, command: CancelOrder) -> OrderAck:
        """Cancel an open order by its ``orderLinkId``."""
        record = self._open_order(command.symbol, command.order_link_id)
        now = self._clock()
        events = self.engine.cancel(engine_cancel(record, command.reason, "paper", now), now)
        if any(isinstance(e, OrderCancelRejected) for e in events):
            raise _refusal(ORDER_NOT_FOUND, "order not exists or too late to cancel")
        self._publish(events)
        return OrderAck(order_link_id=record.order_link_id, order_id=record.order_id)

    async def cancel_all(self, symbol: str) -> list[str]:
        """Cancel every open order of ``symbol``; return their ``orderLinkId``s."""
        now = self._clock()
        cancelled = []
        for record in self._ledger.open_orders(symbol):
            cancel = engine_cancel(record, "cancel all", "paper", now)
            self._publish(self.engine.cancel(cancel, now))
            cancelled.append(record.order_link_id)
        return cancelled

    async def order(self, symbol: str, order_link_id: str) -> OrderSnapshot | None:
        """Return the order with this ``orderLinkId``, or None if unknown."""
        record = self._ledger.find(symbol, order_link_id)
        return record.snapshot() if record is not None else None

    async def executions(self, symbol: str, order_link_id: str) -> list[ExecutionSnapshot]:
        """Return the executions of one order, oldest first."""
        record = self._ledger.find(symbol, order_link_id)
        return list(record.executions) if record is not None else []

    async def open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        """Return open orders, of one symbol or all, oldest first."""
        return [r.snapshot() for r in self._ledger.open_orders(symbol)]

    async def positions(self, symbol: str | None = None) -> list[PositionSnapshot]:
        """Return the position of ``symbol`` (flat included), or every open position."""
        account = self.engine.account
        chosen = [account.position(symbol)] if symbol else list(account.open_positions())
        return [self._position(p) for p in chosen]

    async def wallet_balance(self) -> WalletBalance:
        """Return the USDT balance, equity and what is available for new orders."""
        engine = self.engine
        return WalletBalance(
            wallet_balance=engine.account.wallet_balance,
            equity=engine.equity(),
            available_balance=engine.available_balance(),
            unrealised_pnl=engine.account.unrealized_pnl(),
        )

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Record ``symbol``'s leverage (margin keeps the engine's one leverage, as simulated)."""
        await self.instrument(symbol)
        self._leverage[symbol] = leverage
        self._history.change()

    async def set_trading_stop(
        self,
        symbol: str,
        *,
        take_profit: Decimal | None,
        stop_loss: Decimal | None,
        trigger_by: StopTrigger = StopTrigger.MARK,
    ) -> None:
        """Hold a take-profit and/or stop-loss on ``symbol``'s position (0 removes).

        Refused as Bybit refuses it (no position, a level on the wrong side of the mid); the
        levels already held are not an error. The stop triggers in ``on_book``.
        """
        current = self._stops.get(symbol, StopLevels())
        try:
            self._stops[symbol] = checked_levels(
                current,
                size=self.engine.account.position(symbol).size,
                base_price=mid_price(self._book(symbol)),
                take_profit=take_profit,
                stop_loss=stop_loss,
                trigger_by=str(trigger_by),
            )
            self._history.change()
        except StopRefusedError as exc:
            if exc.ret_code != NOT_MODIFIED:
                raise _refusal(exc.ret_code, exc.message) from exc

    async def instrument(self, symbol: str) -> InstrumentInfo:
        """Return ``symbol``'s configured rules; refuse a symbol without any."""
        rules = self.config.instruments.get(symbol, self.config.default_instrument)
        if rules is None:
            raise ExchangeError(Outcome.REJECT, f"unknown instrument {symbol}")
        return rules.info(symbol)

    def subscribe(self, handler: EventHandler) -> None:
        """Deliver every later order event to ``handler``."""
        self._handlers.append(handler)

    @property
    def changed(self) -> bool:
        """Tell whether the account or an order changed since the last ``take_changes``."""
        return self._history.changed

    def take_changes(self) -> PaperChanges:
        """Return what changed since the last call, as JSON-able data ``restore`` reads back."""
        account = {
            "version": STATE_VERSION,
            "engine": self.engine.state(),
            "leverage": {symbol: str(value) for symbol, value in self._leverage.items()},
            "stops": stops_state(self._stops),
            "counters": dict(self._counters),
        }
        return self._history.take(account, self._ledger)

    def put_back(self, changes: PaperChanges) -> None:
        """Mark ``changes`` unsaved again (saving failed): the next ``take_changes`` has them."""
        self._history.put_back(changes)

    def restore(self, account: Mapping[str, Any], orders: Iterable[Mapping[str, Any]]) -> None:
        """Take back the account and the orders that earlier ``take_changes`` described.

        Call it before trading (the worker starts): what this exchange held is replaced.
        """
        if account.get("version") != STATE_VERSION:
            raise ValueError(f"paper account state version {account.get('version')!r} unknown")
        records = ledger_orders(orders)
        self._ledger = Ledger()
        for record in records:
            self._ledger.add(record)
        self.engine = MatchingEngine(self.config.initial_balance, self.config.engine)
        self.engine.restore(account["engine"], known_ids=(r.engine_id for r in records))
        self._leverage = {symbol: Decimal(v) for symbol, v in account["leverage"].items()}
        self._stops = restored_stops(account["stops"])
        self._counters = {name: int(account["counters"][name]) for name in self._counters}
        self._history = OrderHistory(self.config.ended_orders_kept)
        self._history.restore(records)

    def _next(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    def _book(self, symbol: str) -> BookView:
        return self._books.get(symbol, _EMPTY_BOOK)

    def _open_order(self, symbol: str, link_id: str) -> LedgerOrder:
        record = self._ledger.find(symbol, link_id)
        if record is None or not record.is_open:
            raise _refusal(ORDER_NOT_FOUND, "order not exists or too late to cancel")
        return record

    def _position(self, position: Position) -> PositionSnapshot:
        symbol = position.symbol
        mark = self.engine.account.mark(symbol) or position.entry_price
        levels = self._stops.get(symbol, StopLevels())
        side = None if position.is_flat else (Side.BUY if position.size > 0 else Side.SELL)
        return PositionSnapshot(
            symbol=symbol,
            side=side,
            size=abs(position.size),
            entry_price=position.entry_price,
            leverage=self._leverage.get(symbol, self.engine.config.leverage),
            mark_price=mark,
            unrealised_pnl=position.unrealized_pnl(mark),
            take_profit=levels.take_profit,
            stop_loss=levels.stop_loss,
        )

    # Close the whole position at market once the book's mid crosses the stop held on it; the
    # levels go with the position, as Bybit cancels them when it closes.
    def _trigger_stop(self, symbol: str, book: BookView) -> None:
        levels = self._stops.get(symbol)
        if levels is None:
            return
        size = self.engine.account.position(symbol).size
        if size == 0:
            del self._stops[symbol]
            self._history.change()
            return
        mid = mid_price(book)
        if mid is None or not stop_triggered(levels, size=size, price=mid):
            return
        del self._stops[symbol]
        self._history.change()
        now = self._clock()
        command = PlaceOrder(
            command_id=f"stop-loss-{self._next('orders')}",
            strategy="exchange_stop",
            signal_id=f"{symbol}.{levels.stop_loss}.{now}",
            symbol=symbol,
            side=Side.SELL if size > 0 else Side.BUY,
            order_type=OrderType.MARKET,
            qty=abs(size),
            time_in_force=TimeInForce.IOC,
            reduce_only=True,
            issued_at_ms=now,
        )
        try:
            self._submit(command, order_link_id_for(command))
        except ExchangeError as exc:
            log.warning("%s: the stop-loss %s could not close: %s", symbol, levels.stop_loss, exc)

    # Fold engine events into records, rename them to the client's orderLinkId, hand them out.
    def _publish(self, events: Iterable[OrderEvent]) -> None:
        for entry in self._ledger.fold(events):
            record, event = entry.order, entry.event
            self._history.touch(record)
            update: dict[str, object] = {"order_link_id": record.order_link_id}
            if isinstance(event, OrderAccepted):
                update["order_id"] = record.order_id
            ours = event.model_copy(update=update)
            for handler in list(self._handlers):
                handler(ours)
        self._ledger.forget(self._history.overflow())


def _refusal(ret_code: int, message: str) -> ExchangeError:
    return ExchangeError(classify_ret_code(ret_code), message, ret_code=ret_code)


# Bybit refuses on the REST call what it can tell at once (balance, reduce-only, duplicates).
def _raise_synchronous_refusal(events: list[OrderEvent]) -> None:
    for event in events:
        if isinstance(event, OrderRejected) and event.ret_code is not None:
            raise _refusal(event.ret_code, event.reason)
