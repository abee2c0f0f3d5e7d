"""What the protection agent publishes on ``protection.events``, and its timer's ticks.

Every decision protection takes about a position is a record here, whether it moved capital or
not: a close sent (``ProtectionCloseSent``, with the rule, its priority and why), a close that
fired and was held back (``ProtectionCloseSuppressed``, with the reason), how a close ended
(``ProtectionCloseEnded``), each move of an aged position (``AgedPhaseChanged``), a symbol
without fresh prices (``StalePriceRaised``), a stop moved on our side or on the exchange
(``ProtectionStopMoved``) and a position that could not be closed (``CannotCloseRaised``). The
records agent lands them in PostgreSQL on natural keys. Rules, phases and reasons travel as the
core's enum values (plain strings here: schemas import nothing of ours but schemas).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter

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

Name = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9_.]+$")]
"""A rule, phase, reason or result name as the protection core spells it (``trailing_stop``)."""

Stage = Annotated[str, StringConstraints(max_length=40, pattern=r"^[a-z0-9_]*$")]


class _Record(BaseModel, frozen=True, extra="forbid"):
    """Name the position a record is about: ``symbol`` and its episode (opening time)."""

    symbol: Symbol
    episode: Annotated[int, Field(ge=0)]

    @property
    def position_key(self) -> str:
        """Return ``SYMBOL:episode``, the position's key in every protection table."""
        return f"{self.symbol}:{self.episode}"


class ProtectionCloseSent(_Record):
    """A reduce-only market close went to ``exec.orders`` as ``close_id`` because ``rule`` fired.

    ``trigger_price`` is the level crossed, ``observed_price`` the price that crossed it (a gap
    makes them differ); ``aged_phase`` is the aged position's phase when the close is an aged one.
    """

    kind: Literal["protection_close_sent"] = "protection_close_sent"
    close_id: OrderLinkId
    rule: Name
    stage: Stage = ""
    priority: Annotated[int, Field(ge=0)]
    reason: Reason
    side: Side
    qty: Qty
    fraction: Annotated[Decimal, Field(gt=0, le=1)]
    leg: Annotated[int, Field(ge=0, le=99)]
    trigger_price: Price | None = None
    observed_price: Price | None = None
    entry_price: Price
    aged_phase: Name | None = None
    decided_ts_ms: TimestampMs


class ProtectionCloseSuppressed(_Record):
    """A close fired and was not sent: ``suppress_reason`` says why (``lower_priority``...)."""

    kind: Literal["protection_close_suppressed"] = "protection_close_suppressed"
    rule: Name
    stage: Stage = ""
    priority: Annotated[int, Field(ge=0)]
    reason: Reason
    suppress_reason: Name
    detail: Reason
    age_s: Annotated[float, Field(ge=0)] | None = None
    decided_ts_ms: TimestampMs


class ProtectionCloseEnded(_Record):
    """How close ``close_id`` ended (``filled``, ``rejected``, ``cancelled``, ``expired``...).

    ``avg_price`` and ``realized_pnl_pct`` (from entry, fees aside, signed for the position's
    side) are known for a fill; ``aged`` says the position was being wound down as aged.
    """

    kind: Literal["protection_close_ended"] = "protection_close_ended"
    close_id: OrderLinkId
    rule: Name
    result: Name
    reason: str = Field(default="", max_length=500)
    avg_price: Price | None = None
    realized_pnl_pct: Decimal | None = None
    full: bool = True
    aged: bool = False
    ended_ts_ms: TimestampMs


class AgedPhaseChanged(_Record):
    """One move of an aged position (``from_phase`` None: its detection) and its targets then."""

    kind: Literal["aged_phase_changed"] = "aged_phase_changed"
    from_phase: Name | None = None
    to_phase: Name
    at_ms: TimestampMs
    reason: Reason
    target_price: Price | None = None
    breakeven_price: Price
    loss_tolerance: Annotated[Decimal, Field(ge=0, lt=1)]
    attempts: Annotated[int, Field(ge=0)]
    side: Side
    entry_price: Price


class StalePriceRaised(_Record):
    """A symbol with an open position has no fresh price (``age_s`` None: never had one).

    ``emergency_action`` is set when the silence lasted past the emergency threshold.
    """

    kind: Literal["stale_price_raised"] = "stale_price_raised"
    age_s: Annotated[float, Field(ge=0)] | None = None
    freshness: Name
    positions_affected: tuple[str, ...]
    emergency_action: Name | None = None
    ts_ms: TimestampMs


class ProtectionStopMoved(_Record):
    """A stop moved: the trailing stop or breakeven on our side, or the exchange's hard stop.

    ``where`` is ``client`` or ``exchange``; ``command_id`` is the ``SetTradingStop`` sent for an
    exchange stop.
    """

    kind: Literal["protection_stop_moved"] = "protection_stop_moved"
    where: Literal["client", "exchange"]
    rule: Name
    previous: Price | None = None
    stop_price: Price
    reason: Reason
    command_id: Identifier | None = None
    ts_ms: TimestampMs


class CannotCloseRaised(_Record):
    """Critical: every close of the position failed; a person must look at it."""

    kind: Literal["cannot_close_raised"] = "cannot_close_raised"
    rule: Name
    close_id: OrderLinkId
    attempts: Annotated[int, Field(ge=0)]
    reason: Reason
    ts_ms: TimestampMs


class ProtectionTick(BaseModel, frozen=True, extra="forbid"):
    """The protection timer: run the timed rules of the symbols of ``partition``."""

    kind: Literal["protection_tick"] = "protection_tick"
    partition: Annotated[int, Field(ge=0)]
    ts_ms: TimestampMs


ProtectionRecord = Annotated[
    ProtectionCloseSent
    | ProtectionCloseSuppressed
    | ProtectionCloseEnded
    | AgedPhaseChanged
    | StalePriceRaised
    | ProtectionStopMoved
    | CannotCloseRaised,
    Field(discriminator="kind"),
]

protection_record_adapter: TypeAdapter[ProtectionRecord] = TypeAdapter(ProtectionRecord)
