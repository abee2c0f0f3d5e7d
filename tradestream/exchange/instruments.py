"""Fit quantities and prices to an instrument's steps before they leave for the exchange.

Bybit refuses a qty off its step or a price off its tick (retCode 10001), so we round first, in
``Decimal``: quantities down (never trade more than asked), prices to the tick on the side that
never pays more than asked (buys down, sells up). What falls under the minimums after rounding is
refused here as bad input instead of costing an exchange round trip.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from tradestream.core.errors import BadInputError
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.orders import Side


def round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Return ``value`` as a whole number of ``step``s, rounded the given way."""
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step)


def fit_qty(info: InstrumentInfo, qty: Decimal) -> Decimal:
    """Round ``qty`` down to the qty step; refuse it under the minimum or over the maximum."""
    fitted = round_to_step(qty, info.qty_step, ROUND_DOWN)
    if fitted < info.min_qty:
        raise BadInputError(f"{info.symbol}: qty {qty} is below the minimum {info.min_qty}")
    if info.max_qty is not None and fitted > info.max_qty:
        raise BadInputError(f"{info.symbol}: qty {qty} is above the maximum {info.max_qty}")
    return fitted


def fit_price(info: InstrumentInfo, price: Decimal, side: Side) -> Decimal:
    """Round ``price`` to the tick, down for a buy and up for a sell."""
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    fitted = round_to_step(price, info.tick_size, rounding)
    if fitted <= 0:
        raise BadInputError(f"{info.symbol}: price {price} rounds to nothing")
    return fitted


def check_notional(info: InstrumentInfo, qty: Decimal, price: Decimal | None) -> None:
    """Refuse an order whose value at ``price`` is below the instrument's minimum notional."""
    if price is not None and qty * price < info.min_notional:
        raise BadInputError(
            f"{info.symbol}: order value {qty * price} is below the minimum {info.min_notional}"
        )
