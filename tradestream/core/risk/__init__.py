"""Risk: sizing, pre-trade limits, trading state and the kill switch of one account."""

from tradestream.core.risk.config import RiskConfig, SizingConfig, SizingMode
from tradestream.core.risk.correlation import (
    CorrelatedGroupLimit,
    CorrelationLimit,
    Correlations,
)
from tradestream.core.risk.engine import AUTOMATIC_ACTOR, RiskEngine
from tradestream.core.risk.kill_switch import (
    KILL_SWITCH_STRATEGY,
    HaltOrders,
    OrderRef,
    close_command_id,
    trip_trigger,
)
from tradestream.core.risk.outcome import RiskOutcome, decision_id
from tradestream.core.risk.pending import PendingOrders
from tradestream.core.risk.proposal import (
    PendingOrder,
    ProposedOrder,
    Refused,
    RiskContext,
    build_context,
)
from tradestream.core.risk.rules import (
    MaxGrossExposure,
    MaxLeverage,
    MaxOpenPositions,
    MaxPositionNotional,
    MaxPositionsPerSymbol,
    MaxTotalRisk,
    OrdersPerMinute,
    Rule,
    TradingStateRule,
)
from tradestream.core.risk.sizing import Sizer, fit_qty, propose
from tradestream.core.risk.trading_state import (
    TRANSITIONS,
    InvalidTradingStateError,
    KillSwitch,
    Move,
    StateTransition,
)

__all__ = [
    "AUTOMATIC_ACTOR",
    "KILL_SWITCH_STRATEGY",
    "TRANSITIONS",
    "CorrelatedGroupLimit",
    "CorrelationLimit",
    "Correlations",
    "HaltOrders",
    "InvalidTradingStateError",
    "KillSwitch",
    "MaxGrossExposure",
    "MaxLeverage",
    "MaxOpenPositions",
    "MaxPositionNotional",
    "MaxPositionsPerSymbol",
    "MaxTotalRisk",
    "Move",
    "OrderRef",
    "OrdersPerMinute",
    "PendingOrder",
    "PendingOrders",
    "ProposedOrder",
    "Refused",
    "RiskConfig",
    "RiskContext",
    "RiskEngine",
    "RiskOutcome",
    "Rule",
    "Sizer",
    "SizingConfig",
    "SizingMode",
    "StateTransition",
    "TradingStateRule",
    "build_context",
    "close_command_id",
    "decision_id",
    "fit_qty",
    "propose",
    "trip_trigger",
]
