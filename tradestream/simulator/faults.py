"""Name the faults the simulator can inject and say where each one applies.

Two kinds of fault exist. *Actions* happen once, immediately, when requested: ``drop`` (abort the
TCP connection with no close frame), ``snapshot`` (send a fresh snapshot of the current book,
same ``u`` sequence), ``restart`` (send a ``u``=1 snapshot and continue from ``u``=2, as after a
Bybit service restart), ``malformed`` / ``truncated`` / ``non_json`` (send one broken frame, in
addition to the normal stream, so nothing real is lost). *Rules* are armed on connections and
act on the frames that follow: ``gap`` (withhold the next ``count`` orderbook deltas, so the
client sees ``u`` jump), ``duplicate`` (send the next ``count`` frames twice), ``stall`` (hold a
symbol's frames while others flow, release them in order when cleared) and ``slow`` (delay every
frame by ``delay_ms`` until cleared).

A fault may name a ``symbol`` (default: every symbol) and a ``conn_id`` (default: every
connection). Counted rules (``gap``, ``duplicate``) arm the connections open at that moment;
``stall`` and ``slow`` without a ``conn_id`` also arm connections opened later, until cleared.
``restart`` is a property of the exchange's stream, not of one socket, so it takes no ``conn_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator


class FaultKind(StrEnum):
    """List the injectable faults."""

    DROP = "drop"
    STALL = "stall"
    GAP = "gap"
    SNAPSHOT = "snapshot"
    RESTART = "restart"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    NON_JSON = "non_json"
    DUPLICATE = "duplicate"
    SLOW = "slow"


RULE_KINDS = frozenset({FaultKind.STALL, FaultKind.GAP, FaultKind.DUPLICATE, FaultKind.SLOW})
"""Faults armed on connections; every other kind is a one-off action."""

PERSISTENT_KINDS = frozenset({FaultKind.STALL, FaultKind.SLOW})
"""Rules that hold until cleared rather than for a count of frames."""

BROKEN_FRAME_KINDS = frozenset({FaultKind.MALFORMED, FaultKind.TRUNCATED, FaultKind.NON_JSON})


class FaultSpec(BaseModel, frozen=True, extra="forbid"):
    """Request one fault, now or every ``every_s`` seconds."""

    fault: FaultKind
    symbol: str | None = None
    conn_id: str | None = None
    count: PositiveInt = 1
    delay_ms: NonNegativeFloat = 0.0
    every_s: PositiveFloat | None = None

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        if self.fault is FaultKind.RESTART and self.conn_id is not None:
            raise ValueError("restart applies to a symbol's stream, not to one connection")
        if self.fault is FaultKind.SLOW and self.delay_ms <= 0:
            raise ValueError("slow needs delay_ms > 0")
        if self.fault in PERSISTENT_KINDS and self.every_s is not None:
            raise ValueError(f"{self.fault} holds until cleared; every_s makes no sense")
        return self


@dataclass(slots=True)
class Rule:
    """Hold one fault armed on one connection."""

    kind: FaultKind
    symbol: str | None
    remaining: int | None
    """Frames left to affect; None for rules that hold until cleared."""
    delay_s: float = 0.0

    @classmethod
    def from_spec(cls, spec: FaultSpec) -> Rule:
        """Arm a rule as the spec asks."""
        remaining = None if spec.fault in PERSISTENT_KINDS else spec.count
        return cls(spec.fault, spec.symbol, remaining, spec.delay_ms / 1000.0)

    def matches(self, symbol: str) -> bool:
        """Tell whether a frame for ``symbol`` falls under this rule."""
        return self.symbol is None or self.symbol == symbol

    def covers(self, kind: FaultKind | None, symbol: str | None) -> bool:
        """Tell whether a clear request for (kind, symbol) removes this rule."""
        return (kind is None or kind is self.kind) and (symbol is None or symbol == self.symbol)

    def as_dict(self) -> dict[str, object]:
        """Describe the rule for the admin API."""
        return {
            "fault": str(self.kind),
            "symbol": self.symbol,
            "remaining": self.remaining,
            "delay_ms": self.delay_s * 1000.0,
        }


def broken_frame(kind: FaultKind, symbol: str, sample: bytes | None) -> bytes:
    """Build the broken frame a malformed / truncated / non-JSON fault sends.

    ``sample`` is a real frame for the symbol (a snapshot of its book); the truncated fault sends
    its first half, which is how a frame cut by a broken proxy looks.
    """
    if kind is FaultKind.TRUNCATED and sample:
        return sample[: max(1, len(sample) // 2)]
    if kind is FaultKind.NON_JSON:
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    return b'{"topic":"orderbook.200.%s","type":"delta","ts":,"data":{"s":"%s","b":[["1",}' % (
        symbol.encode(),
        symbol.encode(),
    )
