"""Everything one call into the protection engine produced, for the agent to send and record."""

from __future__ import annotations

from dataclasses import dataclass, fields

from tradestream.core.protection.aged import AgedTransition
from tradestream.core.protection.decisions import (
    CannotClose,
    CloseDecision,
    SetExchangeStop,
    StaleEmergency,
    StalePriceAlert,
    StopUpdate,
    Suppressed,
)
from tradestream.schemas.orders import PlaceOrder


@dataclass(frozen=True, slots=True)
class ProtectionOutcome:
    """Send ``closes`` and ``exchange_stops``; record and count the rest.

    ``closes`` holds at most one close per position (the arbiter's winner, with no other close
    in flight); ``suppressed`` the closes that fired and were not sent, with why; ``failures``
    the critical positions that could not be closed.
    """

    closes: tuple[CloseDecision, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    stop_updates: tuple[StopUpdate, ...] = ()
    exchange_stops: tuple[SetExchangeStop, ...] = ()
    aged_transitions: tuple[AgedTransition, ...] = ()
    alerts: tuple[StalePriceAlert, ...] = ()
    emergencies: tuple[StaleEmergency, ...] = ()
    failures: tuple[CannotClose, ...] = ()

    def __add__(self, other: ProtectionOutcome) -> ProtectionOutcome:
        """Return both outcomes in one, this one's records first."""
        merged = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        return ProtectionOutcome(**merged)

    @property
    def empty(self) -> bool:
        """Tell whether nothing at all came out."""
        return not any(getattr(self, f.name) for f in fields(self))

    def orders(self) -> tuple[PlaceOrder, ...]:
        """Return the reduce-only market orders that carry out the closes."""
        return tuple(close.to_order() for close in self.closes)


NOTHING = ProtectionOutcome()
