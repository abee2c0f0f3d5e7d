"""Protection: client-side stops, take-profits, trailing, time and aged exits, stale prices.

``ProtectionEngine`` is the entry point the protection agent and the backtester drive; the rest
is its parts (rules, arbiter, aged-position state machine, staleness guard) and the data it
decides in.
"""

from tradestream.core.protection.aged import (
    TRANSITIONS,
    AgedPhase,
    AgedPosition,
    AgedTarget,
    AgedTransition,
    InvalidAgedTransitionError,
    aged_target,
    breakeven_price,
    loss_tolerance,
)
from tradestream.core.protection.arbiter import Arbitration, arbitrate
from tradestream.core.protection.closing import (
    CloseResult,
    CloseResultKind,
    CloseTracker,
    InFlightClose,
)
from tradestream.core.protection.config import (
    AgedPositionConfig,
    BreakevenConfig,
    ClosingConfig,
    ExchangeStopConfig,
    PartialTakeProfit,
    ProtectionConfig,
    StalenessConfig,
    StopLossConfig,
    TakeProfitConfig,
    TimeStopConfig,
    TrailingStep,
    TrailingStopConfig,
)
from tradestream.core.protection.decisions import (
    PROTECTION_STRATEGY,
    CannotClose,
    CloseDecision,
    ProtectionRule,
    SetExchangeStop,
    StaleAction,
    StaleEmergency,
    StalePriceAlert,
    StopUpdate,
    Suppressed,
    SuppressReason,
    close_id,
    close_key,
)
from tradestream.core.protection.engine import ProtectionEngine
from tradestream.core.protection.outcome import ProtectionOutcome
from tradestream.core.protection.prices import PositionView, PriceKind, PriceObservation
from tradestream.core.protection.state import PositionProtection, SymbolState

__all__ = [
    "PROTECTION_STRATEGY",
    "TRANSITIONS",
    "AgedPhase",
    "AgedPosition",
    "AgedPositionConfig",
    "AgedTarget",
    "AgedTransition",
    "Arbitration",
    "BreakevenConfig",
    "CannotClose",
    "CloseDecision",
    "CloseResult",
    "CloseResultKind",
    "CloseTracker",
    "ClosingConfig",
    "ExchangeStopConfig",
    "InFlightClose",
    "InvalidAgedTransitionError",
    "PartialTakeProfit",
    "PositionProtection",
    "PositionView",
    "PriceKind",
    "PriceObservation",
    "ProtectionConfig",
    "ProtectionEngine",
    "ProtectionOutcome",
    "ProtectionRule",
    "SetExchangeStop",
    "StaleAction",
    "StaleEmergency",
    "StalePriceAlert",
    "StalenessConfig",
    "StopLossConfig",
    "StopUpdate",
    "SuppressReason",
    "Suppressed",
    "SymbolState",
    "TakeProfitConfig",
    "TimeStopConfig",
    "TrailingStep",
    "TrailingStopConfig",
    "aged_target",
    "arbitrate",
    "breakeven_price",
    "close_id",
    "close_key",
    "loss_tolerance",
]
