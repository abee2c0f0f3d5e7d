"""Translate Bybit v5 JSON (REST results and private WS rows) into our schemas and events.

Bybit sends numbers as strings, empty strings for "none", and one order's life as rows on two
topics: ``order`` (status changes) and ``execution`` (fills). Fills become our fill events from
``execution`` rows only, so a fill is never counted twice; ``order`` rows give acks, cancels,
expiries and rejections. ``ExecutionTotals`` keeps each order's running notional, because an
execution row carries its own price but not the order's average.
"""

from __future__ import annotations

from decimal import Decimal

from tradestream.exchange.ledger import ENDED
from tradestream.schemas.exchange import (
    ExchangeOrderStatus,
    ExecutionSnapshot,
    InstrumentInfo,
    OrderSnapshot,
    PositionSnapshot,
    WalletBalance,
)
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderType,
    Side,
    TimeInForce,
)

Row = dict[str, object]
_ZERO = Decimal(0)
_S = ExchangeOrderStatus


def dec(row: Row, key: str) -> Decimal:
    """Read a Bybit decimal string; empty or missing is zero."""
    value = row.get(key)
    return Decimal(str(value)) if value not in (None, "") else _ZERO


def instrument(row: Row) -> InstrumentInfo:
    """Read one ``instruments-info`` row."""
    price = row.get("priceFilter")
    lot = row.get("lotSizeFilter")
    price_filter: Row = price if isinstance(price, dict) else {}
    lot_filter: Row = lot if isinstance(lot, dict) else {}
    max_qty = dec(lot_filter, "maxOrderQty")
    return InstrumentInfo(
        symbol=str(row["symbol"]),
        tick_size=dec(price_filter, "tickSize"),
        qty_step=dec(lot_filter, "qtyStep"),
        min_qty=dec(lot_filter, "minOrderQty"),
        max_qty=max_qty or None,
        min_notional=dec(lot_filter, "minNotionalValue"),
    )


def order(row: Row) -> OrderSnapshot:
    """Read one order row (REST ``realtime``/``history`` or the WS ``order`` topic).

    An order placed by hand on Bybit has no ``orderLinkId``: its ``orderId`` names it instead.
    """
    price = dec(row, "price")
    return OrderSnapshot(
        order_link_id=str(row.get("orderLinkId") or row["orderId"]),
        order_id=str(row["orderId"]),
        symbol=str(row["symbol"]),
        side=Side(str(row["side"])),
        order_type=OrderType(str(row["orderType"])),
        qty=dec(row, "qty"),
        price=price or None,
        time_in_force=TimeInForce(str(row.get("timeInForce") or "GTC")),
        reduce_only=bool(row.get("reduceOnly", False)),
        order_status=ExchangeOrderStatus(str(row["orderStatus"])),
        cum_exec_qty=dec(row, "cumExecQty"),
        avg_price=dec(row, "avgPrice"),
        leaves_qty=dec(row, "leavesQty"),
        reject_reason=str(row.get("rejectReason") or ""),
        created_ms=int(str(row.get("createdTime") or 0)),
        updated_ms=int(str(row.get("updatedTime") or 0)),
    )


def execution(row: Row) -> ExecutionSnapshot:
    """Read one execution row (REST ``execution/list`` or the WS ``execution`` topic)."""
    return ExecutionSnapshot(
        exec_id=str(row["execId"]),
        order_link_id=str(row["orderLinkId"]),
        order_id=str(row["orderId"]),
        symbol=str(row["symbol"]),
        side=Side(str(row["side"])),
        exec_qty=dec(row, "execQty"),
        exec_price=dec(row, "execPrice"),
        exec_fee=dec(row, "execFee"),
        is_maker=bool(row.get("isMaker", False)),
        exec_time_ms=int(str(row.get("execTime") or 0)),
    )


def position(row: Row) -> PositionSnapshot:
    """Read one position row."""
    side = str(row.get("side") or "")
    return PositionSnapshot(
        symbol=str(row["symbol"]),
        side=Side(side) if side in {"Buy", "Sell"} else None,
        size=dec(row, "size"),
        entry_price=dec(row, "avgPrice"),
        leverage=dec(row, "leverage") or Decimal(1),
        mark_price=dec(row, "markPrice"),
        unrealised_pnl=dec(row, "unrealisedPnl"),
        take_profit=dec(row, "takeProfit"),
        stop_loss=dec(row, "stopLoss"),
    )


def wallet(account: Row) -> WalletBalance:
    """Read one unified account's USDT balance (REST ``wallet-balance`` or the WS ``wallet``)."""
    coins = account.get("coin")
    listed = coins if isinstance(coins, list) else []
    coin: Row = next((c for c in listed if isinstance(c, dict) and c.get("coin") == "USDT"), {})
    return WalletBalance(
        wallet_balance=dec(coin, "walletBalance"),
        equity=dec(coin, "equity"),
        available_balance=dec(account, "totalAvailableBalance"),
        unrealised_pnl=dec(coin, "unrealisedPnl"),
    )


def order_event(row: Row, now_ms: int) -> OrderEvent | None:
    """Turn an ``order`` topic row into the event it reports, if it is not a fill."""
    snap = order(row)
    base = {"order_link_id": snap.order_link_id, "symbol": snap.symbol, "occurred_at_ms": now_ms}
    if snap.order_status is _S.NEW:
        return OrderAccepted(
            **base,
            order_id=snap.order_id,
            side=snap.side,
            order_type=snap.order_type,
            qty=snap.qty,
            price=snap.price,
            time_in_force=snap.time_in_force,
            reduce_only=snap.reduce_only,
        )
    if snap.order_status is _S.REJECTED:
        return OrderRejected(**base, reason=snap.reject_reason or "rejected by the exchange")
    if snap.order_status in ENDED:
        reason = snap.reject_reason or "cancelled by the exchange"
        if _ended_by_time_in_force(snap):
            return OrderExpired(**base, cum_qty=snap.cum_exec_qty, reason=reason)
        return OrderCancelled(**base, cum_qty=snap.cum_exec_qty, reason=reason)
    return None


def _ended_by_time_in_force(snap: OrderSnapshot) -> bool:
    if snap.order_type is OrderType.MARKET:
        return True
    return snap.time_in_force in {TimeInForce.IOC, TimeInForce.FOK}


class ExecutionTotals:
    """Track each order's executed qty and notional so fill events carry the average price."""

    def __init__(self) -> None:
        self._totals: dict[str, tuple[Decimal, Decimal, set[str]]] = {}

    def executed_qty(self, order_link_id: str) -> Decimal:
        """Return the qty of the order's executions reported so far."""
        return self._totals.get(order_link_id, (_ZERO, _ZERO, set()))[0]

    def fill_event(self, row: Row, now_ms: int) -> OrderFilled | OrderPartiallyFilled | None:
        """Turn an ``execution`` row into a fill event; None for repeats and non-trades."""
        if str(row.get("execType", "Trade")) != "Trade":
            return None
        fill = execution(row)
        qty, notional, seen = self._totals.get(fill.order_link_id, (_ZERO, _ZERO, set()))
        if fill.exec_id in seen:
            return None
        seen.add(fill.exec_id)
        qty, notional = qty + fill.exec_qty, notional + fill.exec_qty * fill.exec_price
        leaves = dec(row, "leavesQty")
        cum = dec(row, "orderQty") - leaves or qty
        self._totals[fill.order_link_id] = (qty, notional, seen)
        event_type = OrderFilled if leaves == 0 else OrderPartiallyFilled
        return event_type(
            order_link_id=fill.order_link_id,
            symbol=fill.symbol,
            occurred_at_ms=now_ms,
            exec_id=fill.exec_id,
            side=fill.side,
            exec_qty=fill.exec_qty,
            exec_price=fill.exec_price,
            exec_fee=fill.exec_fee,
            is_maker=fill.is_maker,
            cum_qty=max(cum, fill.exec_qty),
            avg_price=notional / qty,
            leaves_qty=leaves,
        )
