"""Render the simulator's orders, executions and positions as Bybit's JSON.

The order records themselves (status, running totals, executions) are the exchange ``Ledger``'s,
shared with the paper exchange so both report the same thing; this module only writes them out
as ``/v5/order/realtime``, ``/v5/execution/list`` and the private topics show them, numbers as
strings and "none" as an empty string, as Bybit does.
"""

from __future__ import annotations

from decimal import Decimal

from tradestream.core.matching import Position
from tradestream.exchange.ledger import LedgerOrder
from tradestream.schemas.exchange import ExecutionSnapshot

Wire = dict[str, object]


def order_wire(order: LedgerOrder) -> Wire:
    """Render an order as Bybit's order JSON."""
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "symbol": order.symbol,
        "side": str(order.side),
        "orderType": str(order.order_type),
        "price": _text(order.price),
        "qty": str(order.qty),
        "timeInForce": str(order.time_in_force),
        "reduceOnly": order.reduce_only,
        "orderStatus": str(order.status),
        "cumExecQty": str(order.cum_qty),
        "cumExecValue": str(order.cum_value),
        "cumExecFee": str(order.cum_fee),
        "avgPrice": _text(order.avg_price),
        "leavesQty": str(order.leaves_qty),
        "rejectReason": order.reject_reason,
        "positionIdx": 0,
        "category": "linear",
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }


def execution_wire(order: LedgerOrder, execution: ExecutionSnapshot, leaves_qty: Decimal) -> Wire:
    """Render one execution of ``order`` as Bybit's execution JSON, ``leaves_qty`` as it left."""
    return {
        "category": "linear",
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "side": str(order.side),
        "orderPrice": _text(order.price),
        "orderQty": str(order.qty),
        "leavesQty": str(leaves_qty),
        "orderType": str(order.order_type),
        "execFee": str(execution.exec_fee),
        "execId": execution.exec_id,
        "execPrice": str(execution.exec_price),
        "execQty": str(execution.exec_qty),
        "execType": "Trade",
        "execValue": str(execution.exec_qty * execution.exec_price),
        "execTime": str(execution.exec_time_ms),
        "isMaker": execution.is_maker,
    }


def execution_wires(order: LedgerOrder) -> list[Wire]:
    """Render every execution of ``order``, oldest first, each with what it left open."""
    # Qty and price cannot change after a fill (amend refuses), so the running sum is exact.
    rows, leaves = [], order.qty
    for execution in order.executions:
        leaves -= execution.exec_qty
        rows.append(execution_wire(order, execution, leaves))
    return rows


def position_wire(position: Position, leverage: Decimal, mark: Decimal | None) -> Wire:
    """Render a netted position as Bybit's one-way-mode position JSON."""
    side = "" if position.is_flat else ("Buy" if position.size > 0 else "Sell")
    mark_price = mark or position.entry_price
    return {
        "symbol": position.symbol,
        "side": side,
        "size": str(abs(position.size)),
        "avgPrice": str(position.entry_price),
        "positionValue": str(abs(position.size) * position.entry_price),
        "leverage": str(leverage),
        "markPrice": str(mark_price),
        "unrealisedPnl": str(position.unrealized_pnl(mark_price)),
        "cumRealisedPnl": str(position.realized_pnl),
        "positionIdx": 0,
        "category": "linear",
    }


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)
