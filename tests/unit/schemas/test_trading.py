"""Signals, risk decisions and trading-state messages: validation and exact round trips."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tradestream.schemas.trading import (
    KillSwitchReset,
    KillSwitchTrigger,
    KillSwitchTripped,
    ResetKillSwitch,
    RiskDecision,
    SetTradingState,
    Signal,
    TradingState,
    TradingStateChanged,
    TripKillSwitch,
    control_command_adapter,
    trading_state_event_adapter,
)

SIGNAL: dict[str, Any] = {
    "signal_id": "momentum-BTCUSDT-1767225600000",
    "strategy": "momentum",
    "symbol": "BTCUSDT",
    "side": "Buy",
    "strength": 0.8,
    "entry_price": "65000.5",
    "stop_loss": "64000",
    "take_profit": "67000",
    "reason": "breakout above the 20-bar high",
    "created_ts_ms": 1_767_225_600_000,
    "indicators": {"atr": 310.5, "rsi": 61.0},
}
DECISION: dict[str, Any] = {
    "decision_id": "rd-1",
    "signal_id": "sig-1",
    "strategy": "manual",
    "symbol": "ETHUSDT",
    "side": "Sell",
    "approved": True,
    "qty": "0.05",
    "price": "3000",
    "order_link_id": "manual-abc",
    "rule": "approved",
    "reason": "opens",
    "trading_state": "active",
    "decided_ts_ms": 1,
}
STATE_EVENT: dict[str, Any] = {
    "episode": 1,
    "reason": "daily loss",
    "actor": "risk",
    "changed_ts_ms": 5,
}


def test_signal_parses_into_exact_values_with_defaults() -> None:
    signal = Signal.model_validate(SIGNAL)

    assert signal.entry_price == Decimal("65000.5")
    assert signal.indicators["atr"] == 310.5
    assert not signal.reduce_only
    assert signal.notional_usdt is None
    manual = Signal.model_validate(
        {k: SIGNAL[k] for k in ("signal_id", "symbol", "side", "reason", "created_ts_ms")}
        | {"strategy": "manual", "notional_usdt": "100"}
    )
    assert (manual.strength, manual.indicators, manual.notional_usdt) == (1.0, {}, Decimal(100))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"strength": 1.5}, "less than or equal to 1"),
        ({"strength": -0.1}, "greater than or equal to 0"),
        ({"stop_loss": "66000"}, "either side of the entry"),
        ({"take_profit": "64500"}, "either side of the entry"),
        ({"side": "Sell"}, "either side of the entry"),
        ({"entry_price": None, "stop_loss": "68000"}, "either side of the entry"),
        ({"notional_usdt": "0"}, "greater than 0"),
        ({"indicators": {"atr": float("nan")}}, "finite"),
        ({"symbol": "BTC-PERP"}, "pattern"),
        ({"reason": ""}, "at least 1"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_signal_refuses_bad_input_with_a_clear_reason(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Signal.model_validate({**SIGNAL, **change})


def test_a_sell_signal_has_its_stop_above_and_target_below() -> None:
    signal = Signal.model_validate(
        {**SIGNAL, "side": "Sell", "stop_loss": "67000", "take_profit": "64000"}
    )

    assert signal.stop_loss is not None
    assert signal.stop_loss > Decimal("65000.5")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"qty": None}, "carries the qty"),
        ({"order_link_id": None}, "carries the qty"),
        ({"rule": "max_open_positions"}, "contradicts approved=True"),
        ({"approved": False}, "contradicts approved=False"),
        ({"approved": False, "rule": "max_leverage"}, "places no order"),
        ({"rule": "Max Leverage"}, "pattern"),
        ({"trading_state": "paused"}, "active"),
    ],
)
def test_a_decision_is_either_approved_with_an_order_or_refused_by_a_rule(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        RiskDecision.model_validate({**DECISION, **change})


def test_a_refused_decision_names_its_rule() -> None:
    refused = RiskDecision.model_validate(
        {**DECISION, "approved": False, "qty": None, "order_link_id": None, "rule": "max_leverage"}
    )

    assert (refused.approved, refused.rule) == (False, "max_leverage")


@pytest.mark.parametrize(
    ("model", "change", "complaint"),
    [
        (KillSwitchTripped, {"from_state": "halted", "to_state": "halted"}, "to halted"),
        (KillSwitchTripped, {"from_state": "active", "to_state": "active"}, "to halted"),
        (KillSwitchTripped, {"episode": 0}, "numbered from 1"),
        (KillSwitchReset, {"from_state": "active", "to_state": "active"}, "from halted"),
        (TradingStateChanged, {"from_state": "halted", "to_state": "active"}, "tripped and reset"),
        (KillSwitchReset, {"baseline_equity": "100"}, "come together"),
        (KillSwitchReset, {"actor": "two words"}, "pattern"),
    ],
)
def test_state_events_only_describe_moves_of_their_kind(
    model: type[BaseModel], change: dict[str, Any], complaint: str
) -> None:
    base = {
        KillSwitchTripped: {"from_state": "active", "to_state": "halted", "trigger": "manual"},
        KillSwitchReset: {"from_state": "halted", "to_state": "active"},
        TradingStateChanged: {"from_state": "active", "to_state": "reducing"},
    }[model]
    with pytest.raises(ValidationError, match=complaint):
        model.model_validate({**STATE_EVENT, **base, **change})


@pytest.mark.parametrize(
    "command",
    [
        {"kind": "set_trading_state", "state": "halted"},
        {"kind": "reset_kill_switch", "episode": 0},
        {"kind": "reset_kill_switch", "episode": 1, "resume_state": "halted"},
    ],
)
def test_commands_cannot_set_a_halt_or_reset_no_episode(command: dict[str, Any]) -> None:
    base = {"command_id": "c-1", "reason": "ops", "actor": "alice", "issued_ts_ms": 1}
    with pytest.raises(ValidationError):
        control_command_adapter.validate_python({**base, **command})


COMMANDS: list[BaseModel] = [
    TripKillSwitch(command_id="c-1", reason="fat finger", actor="alice", issued_ts_ms=1),
    ResetKillSwitch(
        command_id="c-2",
        reason="checked",
        actor="alice",
        issued_ts_ms=2,
        episode=3,
        resume_state=TradingState.REDUCING,
    ),
    SetTradingState(
        command_id="c-3", reason="maintenance", actor="bob", issued_ts_ms=3, state="reducing"
    ),
]
EVENTS: list[BaseModel] = [
    KillSwitchTripped.model_validate(
        {**STATE_EVENT, "from_state": "reducing", "to_state": "halted", "trigger": "drawdown"}
    ),
    KillSwitchReset.model_validate(
        {
            **STATE_EVENT,
            "from_state": "halted",
            "to_state": "active",
            "baseline_equity": "9512.25",
            "baseline_ts_ms": 5,
        }
    ),
    TradingStateChanged.model_validate(
        {**STATE_EVENT, "episode": 0, "from_state": "active", "to_state": "reducing"}
    ),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_control_commands_round_trip_through_json(command: BaseModel) -> None:
    decoded = control_command_adapter.validate_json(command.model_dump_json())

    assert decoded == command
    assert type(decoded) is type(command)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_state_events_round_trip_through_json(event: BaseModel) -> None:
    decoded = trading_state_event_adapter.validate_json(event.model_dump_json())

    assert decoded == event
    assert type(decoded) is type(event)


@pytest.mark.parametrize(
    "model", [Signal.model_validate(SIGNAL), RiskDecision.model_validate(DECISION)]
)
def test_signal_and_decision_round_trip_exactly(model: BaseModel) -> None:
    assert type(model).model_validate_json(model.model_dump_json()) == model


def test_trigger_values_are_stable_names() -> None:
    assert [t.value for t in KillSwitchTrigger] == ["daily_loss", "drawdown", "manual"]
