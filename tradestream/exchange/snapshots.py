"""Ask the exchange for the whole account at once and cut it into one snapshot per symbol.

Three calls (open orders, positions, wallet) describe the account; each symbol's part goes to the
positions agent that owns that symbol. A symbol we hold something in but the exchange shows
nothing for gets an empty snapshot too (that absence is what reconciliation must see), so the
caller passes every symbol it knows of beside those the exchange names.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tradestream.exchange.base import Exchange
from tradestream.schemas.exchange import OrderSnapshot, PositionSnapshot
from tradestream.schemas.orders import Side
from tradestream.schemas.reconciliation import ExchangeOrder, ExchangeSnapshot

_ZERO = Decimal(0)


async def account_snapshots(
    exchange: Exchange, known_symbols: Iterable[str], now_ms: int
) -> list[ExchangeSnapshot]:
    """Return one snapshot per symbol known here or named by the exchange, sorted by symbol."""
    orders = await exchange.open_orders()
    positions = await exchange.positions()
    wallet = await exchange.wallet_balance()
    symbols = set(known_symbols) | {o.symbol for o in orders} | {p.symbol for p in positions}
    by_symbol = {p.symbol: p for p in positions}
    return [
        ExchangeSnapshot(
            symbol=symbol,
            taken_at_ms=now_ms,
            open_orders=tuple(_order(o) for o in orders if o.symbol == symbol),
            position_size=_signed_size(by_symbol.get(symbol)),
            position_entry=_entry(by_symbol.get(symbol)),
            wallet_equity=wallet.equity,
        )
        for symbol in sorted(symbols)
    ]


def _order(order: OrderSnapshot) -> ExchangeOrder:
    return ExchangeOrder(
        order_link_id=order.order_link_id,
        side=order.side,
        order_type=order.order_type,
        qty=order.qty,
        price=order.price,
        cum_qty=order.cum_exec_qty,
        reduce_only=order.reduce_only,
        status=str(order.order_status),
        created_ms=order.created_ms,
    )


def _signed_size(position: PositionSnapshot | None) -> Decimal:
    if position is None or position.side is None:
        return _ZERO
    return position.size if position.side is Side.BUY else -position.size


def _entry(position: PositionSnapshot | None) -> Decimal:
    if position is None or position.side is None or position.size == 0:
        return _ZERO
    return position.entry_price
