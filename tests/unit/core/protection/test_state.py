"""Per-symbol protection state round-trips through JSON-able dicts (a Faust table row)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tests.unit.core.protection.factories import (
    HOUR,
    MINUTE,
    SECOND,
    T0,
    D,
    config,
    opened,
    price,
)
from tradestream.core.protection import AgedPhase, PositionView, SymbolState
from tradestream.schemas.account import PositionState
from tradestream.schemas.orders import Side


def rich_state() -> SymbolState:
    """Return a state with every part in use: aged history, a close in flight, stops moved."""
    engine = opened(config(stop_loss={"distance": "0.5"}, take_profit={"partials": []}))
    for ts in range(T0, T0 + 12 * HOUR, 15 * MINUTE):
        engine.on_price(price("95", ts), ts)
        engine.on_timer(ts)
    now = T0 + 12 * HOUR + SECOND
    engine.on_price(price("100.60", now), now)  # progressive target reached: a close goes
    data = engine.export("BTCUSDT")
    assert data is not None
    return SymbolState.from_dict(data)


def test_every_field_survives_the_round_trip() -> None:
    state = rich_state()
    position = state.position
    assert position is not None
    assert position.aged is not None
    assert position.aged.phase is AgedPhase.CLOSING
    assert position.closing.in_flight is not None
    assert (position.breakeven, position.exchange_stop is not None) == (True, True)

    copy = SymbolState.from_dict(json.loads(json.dumps(state.to_dict())))

    assert copy == state
    assert copy.to_dict() == state.to_dict()


def test_a_corrupt_row_is_refused_not_half_restored() -> None:
    data = rich_state().to_dict()
    data["position"]["aged"]["phase"] = "forgotten"

    with pytest.raises(ValidationError):
        SymbolState.from_dict(data)


def test_a_published_position_becomes_a_view_and_a_flat_one_none() -> None:
    short = PositionState(
        symbol="ETHUSDT",
        size=D("-2"),
        entry_price=D(3000),
        mark_price=D(3000),
        opened_ts_ms=T0,
        updated_ts_ms=T0,
    )
    steps = {"tick_size": D("0.01"), "qty_step": D("0.01")}

    position = PositionView.from_state(short, **steps, stop_loss=D(3100))

    assert position is not None
    assert (position.side, position.qty, position.episode, position.long) == (
        Side.SELL,
        D(2),
        T0,
        False,
    )
    assert position.stop_loss == D(3100)
    assert PositionView.from_state(PositionState(symbol="ETHUSDT"), **steps) is None
