"""At most one close in flight per position, and what happens when one does not fill.

A close sent is in flight until it is resolved. Filled resolves it once the position reports
the new size (until then a rule firing on the old size would close twice), or after the timeout
if that report is late. Rejected, cancelled, expired (IOC with nothing or only part done) or
unanswered after the timeout counts a failure, and the next close may go only after the
configured wait (1, 3, 5 s by default). One failure more than there are waits and the position is
``blocked``: a critical ``CannotClose`` is reported once and nothing more is sent. A change of the
position's size (progress, or a person acting) starts the count afresh. Each close key counts its
attempts: attempt ``n`` is leg ``n`` of the same cause, so a retry gets a new ``orderLinkId``
while a replay of the same attempt repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from tradestream.core.protection.decisions import (
    CannotClose,
    CloseDecision,
    ProtectionRule,
    SuppressReason,
)

MAX_LEG = 99


class CloseResultKind(StrEnum):
    """How a close ended, as the execution reports tell it."""

    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class CloseResult:
    """The end of one close order, by its ``orderLinkId``."""

    symbol: str
    close_id: str
    kind: CloseResultKind
    ts_ms: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class InFlightClose:
    """The close sent and not yet answered."""

    close_id: str
    key: str
    rule: ProtectionRule
    stage: str
    leg: int
    qty: Decimal
    sent_ts_ms: int
    filled: bool = False


class Resolution(StrEnum):
    """What a close result did to the position's closing state."""

    IGNORED = "ignored"
    FILLED = "filled"
    RETRY = "retry"
    BLOCKED = "blocked"


@dataclass(slots=True)
class CloseTracker:
    """Hold one position's close in flight, its failures and the attempts of each close key."""

    in_flight: InFlightClose | None = None
    failures: int = 0
    retry_at_ms: int | None = None
    blocked: bool = False
    legs: dict[str, int] = field(default_factory=dict)

    def gate(self, now_ms: int) -> tuple[SuppressReason, str] | None:
        """Return why no close may be sent now, or None when one may."""
        if self.blocked:
            return SuppressReason.CANNOT_CLOSE, f"closing failed {self.failures} times"
        sent = self.in_flight
        if sent is not None:
            state = "filled, the position has not reported it" if sent.filled else "in flight"
            return SuppressReason.CLOSE_IN_FLIGHT, f"{sent.close_id} is {state}"
        if self.retry_at_ms is not None and now_ms < self.retry_at_ms:
            return SuppressReason.RETRY_WAIT, f"retry {self.failures} not before {self.retry_at_ms}"
        return None

    def next_leg(self, key: str) -> int:
        """Return the leg the next close of ``key`` takes."""
        return self.legs.get(key, 0)

    def send(self, decision: CloseDecision, now_ms: int) -> None:
        """Record ``decision`` as the close in flight."""
        self.in_flight = InFlightClose(
            close_id=decision.close_id,
            key=decision.key,
            rule=decision.rule,
            stage=decision.key_stage,
            leg=decision.leg,
            qty=decision.qty,
            sent_ts_ms=now_ms,
        )
        self.legs[decision.key] = decision.leg + 1
        self.retry_at_ms = None

    def overdue(self, now_ms: int, timeout_ms: int) -> bool:
        """Tell whether the close in flight has gone unanswered for ``timeout_ms``."""
        sent = self.in_flight
        return sent is not None and now_ms - sent.sent_ts_ms >= timeout_ms

    def resolve(
        self, result: CloseResult, retry_delays_ms: tuple[int, ...]
    ) -> tuple[Resolution, InFlightClose | None]:
        """Apply the end of the close in flight (returned); other closes' results change nothing."""
        sent = self.in_flight
        if sent is None or sent.filled or result.close_id != sent.close_id:
            return Resolution.IGNORED, None
        if result.kind is CloseResultKind.FILLED:
            self.in_flight = replace(sent, filled=True)
            self.failures, self.retry_at_ms = 0, None
            return Resolution.FILLED, sent
        self.in_flight = None
        self.failures += 1
        if self.failures > len(retry_delays_ms) or self.legs.get(sent.key, 0) > MAX_LEG:
            self.blocked, self.retry_at_ms = True, None
            return Resolution.BLOCKED, sent
        self.retry_at_ms = result.ts_ms + retry_delays_ms[self.failures - 1]
        return Resolution.RETRY, sent

    def cannot_close(
        self, symbol: str, episode: int, ended: InFlightClose, result: CloseResult
    ) -> CannotClose:
        """Describe the critical failure that blocked the position."""
        return CannotClose(
            symbol=symbol,
            episode=episode,
            rule=ended.rule,
            close_id=ended.close_id,
            attempts=self.failures,
            reason=f"{self.failures} closes failed, the last {result.kind}: {result.reason}"[:500],
            ts_ms=result.ts_ms,
        )

    def settle(self) -> None:
        """End a filled close: the position reported it (or its report is overdue)."""
        if self.in_flight is not None and self.in_flight.filled:
            self.in_flight = None

    def unblock(self) -> None:
        """Forget the failures: the position changed, so closing may be tried afresh."""
        self.blocked, self.failures, self.retry_at_ms = False, 0, None
