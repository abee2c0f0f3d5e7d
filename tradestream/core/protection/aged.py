"""Aged positions (V2): a position held too long is wound down, accepting more loss as it ages.

A position older than ``max_age_hours`` without an active trailing stop is *detected* by the
hourly sweep. Its aged time counts from the moment it passed ``max_age_hours`` (so a late sweep
or a restart does not shift the schedule), and the phase follows from that time::

    grace        aged < 8 h      close at breakeven: entry x (1 +- 2 x taker fee) or better
    progressive  8 h <= aged < 28 h   close at entry x (1 -+ tolerance) or better, where the
                 tolerance is 0.5 % per hour into progressive, x1.2 once past 10 hours into
                 it, at most 10 %
    emergency    aged >= 28 h    close at market, whatever the price

(28 h is ``emergency_after_hours``, counted like the grace period from the start of aged time.)
A profitable position (at or beyond breakeven) therefore closes at once, in any phase. Closes are
market orders sent when the price reaches the target, as V2 does: a resting limit order would
block the position's other protection. The life cycle is an explicit table::

    detected ─▶ grace ─▶ progressive ─▶ emergency
       │          │           │             │
       └──────────┴─────┬─────┴─────────────┘
                        ▼
                     closing ─▶ closed | error        (closing ─▶ a phase: the close failed)

and any phase ─▶ closed when the position closes by another rule or by hand; error ─▶ closed.
Anything else raises. Every move is kept as an ``AgedTransition`` with the target, breakeven and
tolerance of the moment, for ``aged_positions`` / ``aged_positions_history``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from types import MappingProxyType

from tradestream.core.errors import InvalidTransitionError
from tradestream.core.protection.config import AgedPositionConfig
from tradestream.core.protection.prices import ZERO, PositionView, hours_ms

_HOUR_MS = Decimal(3_600_000)
_TOLERANCE_STEP = Decimal("0.000001")


class AgedPhase(StrEnum):
    """Where an aged position is in its wind-down."""

    DETECTED = "detected"
    GRACE = "grace"
    PROGRESSIVE = "progressive"
    EMERGENCY = "emergency"
    CLOSING = "closing"
    CLOSED = "closed"
    ERROR = "error"


_P = AgedPhase

TRANSITIONS: Mapping[AgedPhase, frozenset[AgedPhase]] = MappingProxyType(
    {
        _P.DETECTED: frozenset({_P.GRACE, _P.CLOSING, _P.CLOSED}),
        _P.GRACE: frozenset({_P.PROGRESSIVE, _P.CLOSING, _P.CLOSED}),
        _P.PROGRESSIVE: frozenset({_P.EMERGENCY, _P.CLOSING, _P.CLOSED}),
        _P.EMERGENCY: frozenset({_P.CLOSING, _P.CLOSED}),
        _P.CLOSING: frozenset({_P.CLOSED, _P.ERROR, _P.GRACE, _P.PROGRESSIVE, _P.EMERGENCY}),
        _P.ERROR: frozenset({_P.CLOSED}),
        _P.CLOSED: frozenset(),
    }
)
TIMED_PHASES = (_P.GRACE, _P.PROGRESSIVE, _P.EMERGENCY)
FINAL_PHASES = frozenset({_P.CLOSED, _P.ERROR})


class InvalidAgedTransitionError(InvalidTransitionError):
    """Refuse an aged-position move the table does not allow."""


@dataclass(frozen=True, slots=True)
class AgedTarget:
    """What an aged position accepts at one moment: its timed phase and the price to close at."""

    phase: AgedPhase
    hours_aged: Decimal
    breakeven_price: Decimal
    loss_tolerance: Decimal
    target_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AgedTransition:
    """One recorded move of an aged position (``from_phase`` None: its detection)."""

    symbol: str
    episode: int
    from_phase: AgedPhase | None
    to_phase: AgedPhase
    at_ms: int
    reason: str
    target_price: Decimal | None
    breakeven_price: Decimal
    loss_tolerance: Decimal
    attempts: int


def breakeven_price(view: PositionView, config: AgedPositionConfig) -> Decimal:
    """Return the price that pays both taker fees back, rounded to the tick in our favour."""
    return view.level(2 * config.taker_fee)


def loss_tolerance(hours_progressive: Decimal, config: AgedPositionConfig) -> Decimal:
    """Return the loss accepted ``hours_progressive`` into the progressive phase (a fraction)."""
    if hours_progressive <= 0:
        return ZERO
    tolerance = hours_progressive * config.loss_step_per_hour
    if hours_progressive > config.acceleration_after_hours:
        tolerance *= config.acceleration_factor
    return min(tolerance, config.max_loss).quantize(_TOLERANCE_STEP, rounding=ROUND_DOWN)


def aged_target(view: PositionView, config: AgedPositionConfig, now_ms: int) -> AgedTarget:
    """Return the phase the aged time puts the position in, and the price it closes at."""
    since = view.opened_ts_ms + hours_ms(config.max_age_hours)
    hours = Decimal(max(now_ms - since, 0)) / _HOUR_MS
    breakeven = breakeven_price(view, config)
    if hours < config.grace_hours:
        return AgedTarget(_P.GRACE, hours, breakeven, ZERO, breakeven)
    if hours < config.emergency_after_hours:
        tolerance = loss_tolerance(hours - config.grace_hours, config)
        return AgedTarget(_P.PROGRESSIVE, hours, breakeven, tolerance, view.level(-tolerance))
    return AgedTarget(_P.EMERGENCY, hours, breakeven, config.max_loss, None)


@dataclass(slots=True)
class AgedPosition:
    """One aged position's phase, close attempts and recorded history."""

    symbol: str
    episode: int
    detected_ts_ms: int
    phase: AgedPhase = AgedPhase.DETECTED
    attempts: int = 0
    history: list[AgedTransition] = field(default_factory=list)

    @classmethod
    def detect(cls, view: PositionView, target: AgedTarget, now_ms: int) -> AgedPosition:
        """Start tracking ``view`` as aged, recording its detection."""
        aged = cls(view.symbol, view.episode, now_ms)
        aged._record(
            None, _P.DETECTED, now_ms, f"held {target.hours_aged:.2f} h past the limit", target
        )
        return aged

    @property
    def active(self) -> bool:
        """Tell whether the position is still being wound down (not closed, not failed)."""
        return self.phase not in FINAL_PHASES

    def move(self, to: AgedPhase, now_ms: int, reason: str, target: AgedTarget) -> AgedTransition:
        """Move to ``to`` if the table allows it, and record the move."""
        if to not in TRANSITIONS[self.phase]:
            raise InvalidAgedTransitionError(
                f"{self.symbol}:{self.episode}: aged position cannot go {self.phase} -> {to} "
                f"({reason})"
            )
        if to is _P.CLOSING:
            self.attempts += 1
        return self._record(self.phase, to, now_ms, reason, target)

    def catch_up(self, target: AgedTarget, now_ms: int, *, in_flight: bool) -> list[AgedTransition]:
        """Step through the timed phases up to ``target.phase``, one recorded move at a time.

        A position left ``closing`` with no close in flight (it failed, or filled only in part)
        goes back to the phase its age puts it in.
        """
        moves: list[AgedTransition] = []
        if self.phase is _P.CLOSING and not in_flight:
            reason = "no close in flight: watching the price again"
            moves.append(self.move(target.phase, now_ms, reason, target))
        while self.phase is _P.DETECTED or _later(target.phase, self.phase):
            step = _next_timed(self.phase)
            reason = f"{target.hours_aged:.2f} h aged: {step}"
            moves.append(self.move(step, now_ms, reason, target))
        return moves

    def _record(
        self,
        from_phase: AgedPhase | None,
        to: AgedPhase,
        now_ms: int,
        reason: str,
        target: AgedTarget,
    ) -> AgedTransition:
        record = AgedTransition(
            symbol=self.symbol,
            episode=self.episode,
            from_phase=from_phase,
            to_phase=to,
            at_ms=now_ms,
            reason=reason[:500],
            target_price=target.target_price,
            breakeven_price=target.breakeven_price,
            loss_tolerance=target.loss_tolerance,
            attempts=self.attempts,
        )
        self.phase = to
        self.history.append(record)
        return record


# Whether timed phase ``a`` comes after ``b`` (only timed phases are ordered).
def _later(a: AgedPhase, b: AgedPhase) -> bool:
    return a in TIMED_PHASES and b in TIMED_PHASES and TIMED_PHASES.index(a) > TIMED_PHASES.index(b)


def _next_timed(phase: AgedPhase) -> AgedPhase:
    if phase is _P.DETECTED:
        return _P.GRACE
    return TIMED_PHASES[TIMED_PHASES.index(phase) + 1]
