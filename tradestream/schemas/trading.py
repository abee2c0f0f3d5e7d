"""Signals, risk decisions and the trading-state (kill switch) commands and events.

A strategy (or a person, through the CLI) publishes a ``Signal`` on ``sig.signals``; the risk
agent answers each with one ``RiskDecision`` (the audit row of why capital moved, or why not) and,
when approved, a ``PlaceOrder``. Operators steer the account with ``TripKillSwitch``,
``ResetKillSwitch`` and ``SetTradingState`` on ``ops.control``; the risk agent reports every
change of trading state as an event. Ids are given by the producer and derived from the cause,
never from a clock, so a replay makes the same ids. Each model carries a ``kind`` literal so a
topic can hold a discriminated union.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, model_validator

from tradestream.schemas.orders import (
    Identifier,
    OrderLinkId,
    Price,
    Qty,
    Reason,
    Side,
    Symbol,
    TimestampMs,
)

RuleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
"""The name of the risk rule that decided, e.g. ``max_open_positions``, or ``approved``."""

Actor = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
"""Who acted: ``risk`` for automatic trips, a person's login for manual commands."""

Strength = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
APPROVED = "approved"


class TradingState(StrEnum):
    """What the account may do: trade, only reduce exposure, or nothing (kill switch)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class KillSwitchTrigger(StrEnum):
    """Why the kill switch tripped."""

    DAILY_LOSS = "daily_loss"
    DRAWDOWN = "drawdown"
    MANUAL = "manual"


class _Message(BaseModel, frozen=True, extra="forbid"):
    """Share the frozen, closed shape of every trading message."""


class Signal(_Message):
    """A wish to trade one symbol; risk decides whether and how much."""

    kind: Literal["signal"] = "signal"
    signal_id: Identifier
    strategy: Identifier
    symbol: Symbol
    side: Side
    strength: Strength = 1.0
    entry_price: Price | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    notional_usdt: Qty | None = None
    reduce_only: bool = False
    reason: Reason
    created_ts_ms: TimestampMs
    indicators: dict[str, Finite] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_levels(self) -> Self:
        # Each pair that is given must be ordered the way the side makes money.
        below, above = (
            (self.stop_loss, self.take_profit)
            if self.side is Side.BUY
            else (self.take_profit, self.stop_loss)
        )
        for low, high in ((below, self.entry_price), (self.entry_price, above), (below, above)):
            if low is not None and high is not None and low >= high:
                raise ValueError(
                    f"a {self.side} signal needs stop_loss and take_profit on either side of "
                    f"the entry (stop {self.stop_loss}, entry {self.entry_price}, "
                    f"take profit {self.take_profit})"
                )
        return self


class RiskDecision(_Message):
    """Risk's answer to one signal: approved with a qty and an order, or refused by a rule."""

    kind: Literal["risk_decision"] = "risk_decision"
    decision_id: Identifier
    signal_id: Identifier
    strategy: Identifier
    symbol: Symbol
    side: Side
    approved: bool
    qty: Qty | None = None
    price: Price | None = None
    reduce_only: bool = False
    order_link_id: OrderLinkId | None = None
    rule: RuleName
    reason: Reason
    trading_state: TradingState
    decided_ts_ms: TimestampMs

    @model_validator(mode="after")
    def _check_outcome(self) -> Self:
        if self.approved and (self.qty is None or self.order_link_id is None):
            raise ValueError("an approved decision carries the qty and the order link id")
        if self.approved != (self.rule == APPROVED):
            raise ValueError(f"rule {self.rule!r} contradicts approved={self.approved}")
        if not self.approved and (self.qty is not None or self.order_link_id is not None):
            raise ValueError("a refused decision places no order")
        return self


class _ControlCommand(_Message):
    """Identify an operator command, who gave it and why; ``command_id`` makes it idempotent."""

    command_id: Identifier
    reason: Reason
    actor: Actor
    issued_ts_ms: TimestampMs


class TripKillSwitch(_ControlCommand):
    """Halt trading now: cancel every open order and close every position."""

    kind: Literal["trip_kill_switch"] = "trip_kill_switch"


class ResetKillSwitch(_ControlCommand):
    """End halt ``episode`` (a person decides); trading resumes in ``resume_state``.

    Naming the episode makes a reset redelivered after a newer trip fail instead of ending it.
    """

    kind: Literal["reset_kill_switch"] = "reset_kill_switch"
    episode: Annotated[int, Field(ge=1)]
    resume_state: Literal[TradingState.ACTIVE, TradingState.REDUCING] = TradingState.ACTIVE


class SetTradingState(_ControlCommand):
    """Switch between trading normally and only reducing exposure (not for halts)."""

    kind: Literal["set_trading_state"] = "set_trading_state"
    state: Literal[TradingState.ACTIVE, TradingState.REDUCING]


class _TradingStateEvent(_Message):
    """Record one change of trading state: from what, to what, when, why and by whom.

    ``baseline_equity`` / ``baseline_ts_ms`` are the equity and time of the last reset, carried by
    every later event: loss limits are measured from them, and a restart restores them.
    """

    episode: Annotated[int, Field(ge=0)]
    from_state: TradingState
    to_state: TradingState
    reason: Reason
    actor: Actor
    changed_ts_ms: TimestampMs
    baseline_equity: Decimal | None = None
    baseline_ts_ms: TimestampMs | None = None

    @model_validator(mode="after")
    def _check_baseline(self) -> Self:
        if (self.baseline_equity is None) != (self.baseline_ts_ms is None):
            raise ValueError("baseline_equity and baseline_ts_ms come together")
        return self


class KillSwitchTripped(_TradingStateEvent):
    """The kill switch tripped and opened halt episode ``episode``."""

    kind: Literal["kill_switch_tripped"] = "kill_switch_tripped"
    trigger: KillSwitchTrigger

    @model_validator(mode="after")
    def _check_halts(self) -> Self:
        if self.to_state is not TradingState.HALTED or self.from_state is TradingState.HALTED:
            raise ValueError("a trip goes from active or reducing to halted")
        if self.episode < 1:
            raise ValueError("halt episodes are numbered from 1")
        return self


class KillSwitchReset(_TradingStateEvent):
    """A person ended halt episode ``episode``."""

    kind: Literal["kill_switch_reset"] = "kill_switch_reset"

    @model_validator(mode="after")
    def _check_resumes(self) -> Self:
        if self.from_state is not TradingState.HALTED or self.to_state is TradingState.HALTED:
            raise ValueError("a reset goes from halted to active or reducing")
        return self


class TradingStateChanged(_TradingStateEvent):
    """The account switched between active and reducing; ``episode`` is the last halt's."""

    kind: Literal["trading_state_changed"] = "trading_state_changed"

    @model_validator(mode="after")
    def _check_not_a_halt(self) -> Self:
        if TradingState.HALTED in (self.from_state, self.to_state):
            raise ValueError("halts are tripped and reset, not set")
        return self


ControlCommand = Annotated[
    TripKillSwitch | ResetKillSwitch | SetTradingState, Field(discriminator="kind")
]
TradingStateEvent = Annotated[
    KillSwitchTripped | KillSwitchReset | TradingStateChanged, Field(discriminator="kind")
]

control_command_adapter: TypeAdapter[ControlCommand] = TypeAdapter(ControlCommand)
trading_state_event_adapter: TypeAdapter[TradingStateEvent] = TypeAdapter(TradingStateEvent)
