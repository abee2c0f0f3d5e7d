"""Position netting: average entry, realized PnL on reduction, flips at the fill price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradestream.core.matching import Position
from tradestream.schemas.orders import Side

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    ("fills", "size", "entry", "realized"),
    [
        ([(BUY, "1", "100")], "1", "100", "0"),
        ([(BUY, "1", "100"), (BUY, "3", "104")], "4", "103", "0"),
        ([(SELL, "2", "100"), (SELL, "2", "90")], "-4", "95", "0"),
        ([(BUY, "2", "100"), (SELL, "1", "110")], "1", "100", "10"),
        ([(SELL, "2", "100"), (BUY, "1", "110")], "-1", "100", "-10"),
        ([(BUY, "2", "100"), (SELL, "2", "90")], "0", "0", "-20"),
        ([(BUY, "1", "100"), (SELL, "3", "105")], "-2", "105", "5"),
        ([(SELL, "1", "100"), (BUY, "1.5", "98")], "0.5", "98", "2"),
    ],
)
def test_fills_net_into_size_entry_and_realized_pnl(
    fills: list[tuple[Side, str, str]], size: str, entry: str, realized: str
) -> None:
    position = Position("BTCUSDT")

    returned = [position.apply_fill(side, D(qty), D(price)) for side, qty, price in fills]

    assert (position.size, position.entry_price) == (D(size), D(entry))
    assert position.realized_pnl == D(realized) == sum(returned, D(0))


@pytest.mark.parametrize(
    ("size", "side", "reducible"),
    [("2", SELL, "2"), ("2", BUY, "0"), ("-3", BUY, "3"), ("-3", SELL, "0"), ("0", BUY, "0")],
)
def test_only_the_opposite_side_can_reduce(size: str, side: Side, reducible: str) -> None:
    assert Position("X", size=D(size), entry_price=D(1)).reducible_qty(side) == D(reducible)


@pytest.mark.parametrize(("size", "mark", "pnl"), [("2", "110", "20"), ("-2", "110", "-20")])
def test_unrealized_pnl_is_signed_size_times_the_move(size: str, mark: str, pnl: str) -> None:
    position = Position("X", size=D(size), entry_price=D(100))

    assert position.unrealized_pnl(D(mark)) == D(pnl)
