"""The account's trading state and the kill switch, as an explicit transition table.

``active`` trades normally; ``reducing`` lets only exposure-cutting orders through (a person's
choice, e.g. before maintenance); ``halted`` is the kill switch: nothing is placed but its own
closes. A trip (daily loss, drawdown, or a person) opens a new numbered halt episode; only a person
ends it, naming the episode, so a stale reset redelivered after a newer trip cannot undo it::

    active ──reduce──▶ reducing ──resume──▶ active
    active | reducing ──trip──▶ halted ──reset──▶ active | reducing

Anything else raises. Every transition is kept with its time, reason and actor for the audit log,
and reported as the event the risk agent publishes; the last event restores the switch after a
restart, so a halted account stays halted.

A reset also records the equity at that moment (the baseline, carried by every later event until
the next trip): after a reset, loss limits are measured from it, since measuring from the day's
open or the old peak would trip again at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from tradestream.core.errors import InvalidTransitionError
from tradestream.schemas.trading import (
    KillSwitchReset,
    KillSwitchTrigger,
    KillSwitchTripped,
    TradingState,
    TradingStateChanged,
    TradingStateEvent,
)

_E = TypeVar("_E", KillSwitchTripped, KillSwitchReset, TradingStateChanged)


class Move(StrEnum):
    """What can be done to the trading state."""

    TRIP = "trip"
    RESET = "reset"
    RESET_REDUCING = "reset_reducing"
    REDUCE = "reduce"
    RESUME = "resume"


_T = TradingState

TRANSITIONS: Mapping[TradingState, Mapping[Move, TradingState]] = MappingProxyType(
    {
        _T.ACTIVE: MappingProxyType({Move.TRIP: _T.HALTED, Move.REDUCE: _T.REDUCING}),
        _T.REDUCING: MappingProxyType({Move.TRIP: _T.HALTED, Move.RESUME: _T.ACTIVE}),
        _T.HALTED: MappingProxyType({Move.RESET: _T.ACTIVE, Move.RESET_REDUCING: _T.REDUCING}),
    }
)


class InvalidTradingStateError(InvalidTransitionError):
    """Refuse a trading-state change the table does not allow (or a stale reset)."""


@dataclass(frozen=True, slots=True)
class StateTransition:
    """One recorded change of trading state, for the audit log."""

    episode: int
    move: Move
    from_state: TradingState
    to_state: TradingState
    at_ms: int
    reason: str
    actor: str


class KillSwitch:
    """Hold the trading state and the halt episode number; refuse what the table forbids."""

    def __init__(
        self,
        state: TradingState = TradingState.ACTIVE,
        episode: int = 0,
        baseline: tuple[Decimal, int] | None = None,
    ) -> None:
        if episode < 0 or (state is TradingState.HALTED and episode < 1):
            raise ValueError(f"episode {episode} cannot be {state}")
        self._state = state
        self._episode = episode
        self._baseline = baseline
        self._history: list[StateTransition] = []

    @classmethod
    def restore(cls, last_event: TradingStateEvent | None) -> KillSwitch:
        """Rebuild the switch from the last trading-state event published (None: fresh)."""
        if last_event is None:
            return cls()
        baseline = None
        if last_event.baseline_equity is not None and last_event.baseline_ts_ms is not None:
            baseline = (last_event.baseline_equity, last_event.baseline_ts_ms)
        return cls(last_event.to_state, last_event.episode, baseline)

    @property
    def state(self) -> TradingState:
        """Return the current trading state."""
        return self._state

    @property
    def episode(self) -> int:
        """Return the number of the current (or last) halt episode; 0 before any trip."""
        return self._episode

    @property
    def baseline(self) -> tuple[Decimal, int] | None:
        """Return the equity and time of the reset loss limits count from (None: no reset)."""
        return self._baseline

    @property
    def history(self) -> tuple[StateTransition, ...]:
        """Return every change since this switch was built, oldest first."""
        return tuple(self._history)

    def trip(
        self, trigger: KillSwitchTrigger, reason: str, actor: str, now_ms: int
    ) -> KillSwitchTripped:
        """Halt trading and open a new episode."""
        record = self._plan(Move.TRIP, reason, actor, now_ms, episode=self._episode + 1)
        event = KillSwitchTripped.model_validate({**_fields(record, None), "trigger": trigger})
        self._baseline = None
        return self._commit(record, event)

    def reset(
        self,
        episode: int,
        reason: str,
        actor: str,
        now_ms: int,
        *,
        equity: Decimal,
        resume: TradingState = TradingState.ACTIVE,
    ) -> KillSwitchReset:
        """End halt ``episode`` (the current one) at ``equity``, resuming in ``resume``."""
        if episode != self._episode:
            raise InvalidTradingStateError(
                f"cannot reset episode {episode}: the current episode is {self._episode}"
            )
        move = Move.RESET_REDUCING if resume is TradingState.REDUCING else Move.RESET
        record = self._plan(move, reason, actor, now_ms)
        event = KillSwitchReset.model_validate(_fields(record, (equity, now_ms)))
        self._baseline = (equity, now_ms)
        return self._commit(record, event)

    def set_state(
        self, state: TradingState, reason: str, actor: str, now_ms: int
    ) -> TradingStateChanged:
        """Switch between active and reducing (halts are tripped and reset instead)."""
        move = {TradingState.ACTIVE: Move.RESUME, TradingState.REDUCING: Move.REDUCE}.get(state)
        if move is None:
            raise InvalidTradingStateError("trip the kill switch to halt; do not set the state")
        record = self._plan(move, reason, actor, now_ms)
        event = TradingStateChanged.model_validate(_fields(record, self._baseline))
        return self._commit(record, event)

    # Check the move against the table and describe it, without changing anything yet.
    def _plan(
        self, move: Move, reason: str, actor: str, now_ms: int, episode: int | None = None
    ) -> StateTransition:
        target = TRANSITIONS[self._state].get(move)
        if target is None:
            raise InvalidTradingStateError(f"cannot {move} while {self._state} ({reason})")
        return StateTransition(
            episode=self._episode if episode is None else episode,
            move=move,
            from_state=self._state,
            to_state=target,
            at_ms=now_ms,
            reason=reason,
            actor=actor,
        )

    # Apply a planned move once its event validated, so a bad reason changes nothing.
    def _commit(self, record: StateTransition, event: _E) -> _E:
        self._state, self._episode = record.to_state, record.episode
        self._history.append(record)
        return event


def _fields(record: StateTransition, baseline: tuple[Decimal, int] | None) -> dict[str, object]:
    equity, ts_ms = baseline if baseline is not None else (None, None)
    return {
        "baseline_equity": equity,
        "baseline_ts_ms": ts_ms,
        "episode": record.episode,
        "from_state": record.from_state,
        "to_state": record.to_state,
        "reason": record.reason,
        "actor": record.actor,
        "changed_ts_ms": record.at_ms,
    }
