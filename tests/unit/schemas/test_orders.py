"""Order commands and events: validation at the boundary and lossless round trips."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tradestream.schemas.orders import (
    AmendOrder,
    CancelOrder,
    ClosePosition,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
    order_command_adapter,
    order_event_adapter,
)

PLACE: dict[str, Any] = {
    "command_id": "cmd-1",
    "strategy": "momentum",
    "signal_id": "sig-1",
    "symbol": "BTCUSDT",
    "side": "Buy",
    "order_type": "Limit",
    "qty": "0.010",
    "price": "65000.5",
    "issued_at_ms": 1_700_000_000_000,
}
EVENT: dict[str, Any] = {
    "order_link_id": "momentum-abc_123",
    "symbol": "ETHUSDT",
    "occurred_at_ms": 1_700_000_000_123,
}
FILL: dict[str, Any] = {
    **EVENT,
    "exec_id": "e-1",
    "side": "Sell",
    "exec_qty": "0.5",
    "exec_price": "3000.25",
    "exec_fee": "-0.01",
    "is_maker": True,
    "cum_qty": "1.5",
    "avg_price": "3000.10",
}


def test_place_order_parses_bybit_spellings_into_exact_values() -> None:
    order = PlaceOrder.model_validate(PLACE)

    assert order.side is Side.BUY
    assert order.order_type is OrderType.LIMIT
    assert order.time_in_force is TimeInForce.GTC
    assert order.qty == Decimal("0.010")
    assert order.price == Decimal("65000.5")
    assert order.leg == 0
    assert not order.reduce_only


def test_market_order_needs_no_price() -> None:
    order = PlaceOrder.model_validate(
        {**PLACE, "order_type": "Market", "price": None, "time_in_force": "IOC"}
    )

    assert order.price is None


def test_an_order_carries_its_signals_levels_and_older_records_read_without_them() -> None:
    older = order_command_adapter.validate_json(PlaceOrder.model_validate(PLACE).model_dump_json(
        exclude={"stop_loss", "take_profit", "atr"}))  # fmt: skip
    opening = PlaceOrder.model_validate(
        {**PLACE, "stop_loss": "64000", "take_profit": "67000.5", "atr": "310.5"}
    )

    assert isinstance(older, PlaceOrder)
    assert (older.stop_loss, older.take_profit, older.atr) == (None, None, None)
    assert (opening.stop_loss, opening.take_profit) == (Decimal(64000), Decimal("67000.5"))
    assert opening.atr == Decimal("310.5")
    assert order_command_adapter.validate_json(opening.model_dump_json()) == opening


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"qty": "0"}, "greater than 0"),
        ({"qty": "-1"}, "greater than 0"),
        ({"qty": "NaN"}, "finite"),
        ({"price": "0"}, "greater than 0"),
        ({"price": None}, "a Limit order needs a price"),
        ({"order_type": "Market"}, "takes no price"),
        ({"order_type": "Market", "price": None, "time_in_force": "PostOnly"}, "PostOnly"),
        ({"side": "BUY"}, "'Buy' or 'Sell'"),
        ({"time_in_force": "GTD"}, "PostOnly"),
        ({"symbol": "btcusdt"}, "pattern"),
        ({"symbol": "BTCUSDC"}, "pattern"),
        ({"command_id": ""}, "at least 1"),
        ({"strategy": "has space"}, "pattern"),
        ({"leg": 100}, "less than or equal to 99"),
        ({"issued_at_ms": -1}, "greater than or equal to 0"),
        ({"unexpected": 1}, "Extra inputs"),
        ({"stop_loss": "0"}, "greater than 0"),
        ({"reduce_only": True, "take_profit": "70000"}, "takes no levels or ATR"),
        ({"reduce_only": True, "atr": "310.5"}, "takes no levels or ATR"),
        ({"atr": "0"}, "greater than 0"),
        ({"atr": "NaN"}, "finite"),
    ],
)
def test_place_order_refuses_bad_input_with_a_clear_reason(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        PlaceOrder.model_validate({**PLACE, **change})


def test_commands_and_events_are_frozen() -> None:
    order = PlaceOrder.model_validate(PLACE)

    with pytest.raises(ValidationError, match="frozen"):
        order.qty = Decimal(2)  # type: ignore[misc]


def test_amend_needs_something_to_change() -> None:
    base = {k: PLACE[k] for k in ("command_id", "strategy", "symbol", "issued_at_ms")}
    base["order_link_id"] = "momentum-1"

    with pytest.raises(ValidationError, match="new qty or a new price"):
        AmendOrder.model_validate(base)
    assert AmendOrder.model_validate({**base, "price": "1.5"}).price == Decimal("1.5")


@pytest.mark.parametrize(
    ("model", "change", "complaint"),
    [
        (OrderPartiallyFilled, {"leaves_qty": "0"}, "use OrderFilled"),
        (OrderFilled, {"leaves_qty": "0.5"}, "leaves nothing open"),
        (OrderFilled, {"leaves_qty": "0", "exec_qty": "2"}, "exceeds cum_qty"),
        (OrderPartiallyFilled, {"leaves_qty": "-1"}, "greater than or equal to 0"),
        (OrderFilled, {"leaves_qty": "0", "order_link_id": "x" * 37}, "at most 36"),
        (OrderFilled, {"leaves_qty": "0", "order_link_id": "a.b"}, "pattern"),
    ],
)
def test_fill_events_keep_their_totals_consistent(
    model: type[BaseModel], change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        model.model_validate({**FILL, **change})


COMMANDS: list[BaseModel] = [
    PlaceOrder.model_validate(PLACE),
    CancelOrder(
        command_id="c",
        strategy="s",
        symbol="BTCUSDT",
        order_link_id="s-1",
        reason="kill switch",
        issued_at_ms=1,
    ),
    AmendOrder(
        command_id="c",
        strategy="s",
        symbol="BTCUSDT",
        order_link_id="s-1",
        qty=Decimal("0.002"),
        issued_at_ms=1,
    ),
    ClosePosition(command_id="c", strategy="s", symbol="BTCUSDT", reason="aged", issued_at_ms=1),
]
EVENTS: list[BaseModel] = [
    OrderAccepted(
        **EVENT,
        order_id="1234",
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        qty=Decimal("1.50"),
        price=Decimal("3000.10"),
        time_in_force=TimeInForce.POST_ONLY,
    ),
    OrderRejected(**EVENT, reason="insufficient balance", ret_code=110007),
    OrderPartiallyFilled.model_validate({**FILL, "leaves_qty": "0.5"}),
    OrderFilled.model_validate({**FILL, "leaves_qty": "0"}),
    OrderCancelled(**EVENT, cum_qty=Decimal("0.3"), reason="requested"),
    OrderExpired(**EVENT, reason="IOC remainder"),
    OrderCancelRejected(**EVENT, reason="order does not exist", ret_code=110001),
    OrderFailed(**EVENT, reason="circuit open"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_commands_round_trip_through_json_exactly(command: BaseModel) -> None:
    assert order_command_adapter.validate_json(command.model_dump_json()) == command


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip_through_json_exactly(event: BaseModel) -> None:
    decoded = order_event_adapter.validate_json(event.model_dump_json())

    assert decoded == event
    assert type(decoded) is type(event)


def test_side_knows_its_opposite() -> None:
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY
