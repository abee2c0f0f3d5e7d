"""Pre-trade rules: each refuses an order that adds risk beyond one limit, or says nothing.

Every rule is a small object with a ``name`` and ``check(order, context) -> Refused | None``
(decisions are data: the refusal is the audit row). Rules only ever refuse orders that add risk
(``ProposedOrder.increases``): closing or shrinking a position is always allowed, except by the
trading-state rule while the account is halted, as in Nautilus Trader's risk engine.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Protocol

from tradestream.core.risk.proposal import ProposedOrder, Refused, RiskContext
from tradestream.schemas.trading import TradingState

MINUTE_MS = 60_000


class Rule(Protocol):
    """One pre-trade limit."""

    name: str

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Return why ``order`` must not be placed, or None to let it through."""
        ...


class TradingStateRule:
    """Refuse everything while halted and everything that adds risk while reducing."""

    name = "trading_state"

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Refuse by the account's trading state."""
        state = context.trading_state
        if state is TradingState.HALTED:
            return Refused(self.name, "trading is halted by the kill switch")
        if state is TradingState.REDUCING and order.increases:
            return Refused(self.name, "trading is reducing: only orders that cut exposure pass")
        return None


class MaxOpenPositions:
    """Refuse a new position when the account already holds the configured number."""

    name = "max_open_positions"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Count positions and pending entries on other symbols."""
        if order.opens and context.open_count >= self.limit:
            return Refused(self.name, f"{context.open_count} open, limit {self.limit}")
        return None


class MaxPositionsPerSymbol:
    """Refuse adding to a symbol that already had its configured number of entries."""

    name = "max_positions_per_symbol"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Count the entries since the symbol was last flat (a flip starts again)."""
        entries = context.entries.get(order.symbol, 0)
        if order.increases and not order.new_position and entries >= self.limit:
            return Refused(
                self.name, f"{order.symbol} has {entries} entries, limit {self.limit} per symbol"
            )
        return None


class MaxPositionNotional:
    """Refuse an order that would take one symbol's position above the notional cap."""

    name = "max_position_notional"

    def __init__(self, limit_usdt: Decimal) -> None:
        self.limit = limit_usdt

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Value the symbol's position after the order at the order's price."""
        after = order.notional_after
        if order.increases and after > self.limit:
            return Refused(
                self.name, f"{order.symbol} would hold {after:.2f} USDT, limit {self.limit} USDT"
            )
        return None


class MaxGrossExposure:
    """Refuse an order that would take the sum of all positions' notionals above the cap."""

    name = "max_gross_exposure"

    def __init__(self, limit_usdt: Decimal) -> None:
        self.limit = limit_usdt

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Add the order's change in notional to the current gross exposure."""
        after = context.gross_exposure() + order.notional_change
        if order.increases and after > self.limit:
            return Refused(
                self.name, f"gross exposure would be {after:.2f} USDT, limit {self.limit}"
            )
        return None


class MaxLeverage:
    """Refuse an order that would take gross exposure above ``limit`` times equity."""

    name = "max_leverage"

    def __init__(self, limit: Decimal) -> None:
        self.limit = limit

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Divide the gross exposure after the order by equity."""
        if not order.increases:
            return None
        equity = context.equity
        if equity <= 0:
            return Refused(self.name, f"equity is {equity:.2f} USDT: no leverage is possible")
        leverage = (context.gross_exposure() + order.notional_change) / equity
        if leverage > self.limit:
            return Refused(self.name, f"leverage would be {leverage:.2f}x, limit {self.limit}x")
        return None


class MaxTotalRisk:
    """Refuse an order that would put more than ``limit`` of equity at risk across all stops."""

    name = "max_total_risk"

    def __init__(self, limit: Decimal) -> None:
        self.limit = limit

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Replace the symbol's risk by its risk after the order and compare with equity."""
        if not order.increases:
            return None
        equity = context.equity
        if equity <= 0:
            return Refused(self.name, f"equity is {equity:.2f} USDT: no risk can be taken")
        stop = order.stop_loss
        if stop is None and not order.flips:
            stop = context.stops.get(order.symbol)
        symbol_risk = abs(order.size_after) * context.stop_distance(order.price, stop)
        total = context.open_risk() - context.symbol_risk(order.symbol) + symbol_risk
        if total / equity > self.limit:
            return Refused(
                self.name, f"{total / equity:.2%} of equity at risk, limit {self.limit:.2%}"
            )
        return None


class OrdersPerMinute:
    """Refuse an order that adds risk when ``limit`` orders were approved in the last minute."""

    name = "orders_per_minute"

    def __init__(self, limit: int, window_ms: int = MINUTE_MS) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self._approved_ms: deque[int] = deque()
        self._in_order = True  # approval times never went back: all are <= the newest

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Count approvals in the sliding window ending now."""
        count = self.count(context.now_ms)
        if order.increases and count >= self.limit:
            return Refused(self.name, f"{count} orders in the last minute, limit {self.limit}")
        return None

    def count(self, now_ms: int) -> int:
        """Return how many approvals fall in ``(now_ms - window, now_ms]``."""
        approved = self._approved_ms
        while approved and approved[0] <= now_ms - self.window_ms:
            approved.popleft()
        if not approved:
            self._in_order = True
            return 0
        if self._in_order and approved[-1] <= now_ms:
            return len(approved)
        return sum(1 for at in approved if at <= now_ms)

    def record(self, now_ms: int) -> None:
        """Count one approved order at ``now_ms``."""
        if self._approved_ms and now_ms < self._approved_ms[-1]:
            self._in_order = False  # the clock went back: count one by one until empty
        self._approved_ms.append(now_ms)
