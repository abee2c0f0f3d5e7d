"""Quantities round down to the step, prices to the tick on the side that never pays more."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradestream.core.errors import BadInputError
from tradestream.exchange.instruments import check_notional, fit_price, fit_qty
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.orders import Side

INFO = InstrumentInfo(
    symbol="BTCUSDT",
    tick_size=Decimal("0.10"),
    qty_step=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    max_qty=Decimal(100),
    min_notional=Decimal(5),
)


@pytest.mark.parametrize(
    ("qty", "fitted"),
    [("0.0019", "0.001"), ("1.2345", "1.234"), ("2", "2.000"), ("0.001", "0.001")],
)
def test_qty_rounds_down_to_the_step(qty: str, fitted: str) -> None:
    assert fit_qty(INFO, Decimal(qty)) == Decimal(fitted)


@pytest.mark.parametrize("qty", ["0.0009", "100.001"])
def test_qty_outside_the_limits_is_refused(qty: str) -> None:
    with pytest.raises(BadInputError):
        fit_qty(INFO, Decimal(qty))


@pytest.mark.parametrize(
    ("price", "side", "fitted"),
    [
        ("100.05", Side.BUY, "100.0"),
        ("100.05", Side.SELL, "100.1"),
        ("100.10", Side.BUY, "100.1"),
        ("100.10", Side.SELL, "100.1"),
    ],
)
def test_price_rounds_to_the_tick_in_our_favour(price: str, side: Side, fitted: str) -> None:
    assert fit_price(INFO, Decimal(price), side) == Decimal(fitted)


def test_small_notional_is_refused() -> None:
    with pytest.raises(BadInputError):
        check_notional(INFO, Decimal("0.001"), Decimal(4000))
    check_notional(INFO, Decimal("0.002"), Decimal(4000))
