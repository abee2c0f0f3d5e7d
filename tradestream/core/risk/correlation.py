"""Correlation limits: no more than a few positions that move together, in the same direction.

Two inputs say which symbols move together. Configured groups (``majors``, ``layer1``...) are
the fixed view; a matrix of rolling-return correlations, fed by whoever computes returns, is the
measured one. Direction matters: a long and a short on two correlated symbols hedge each other,
so a group counts the positions on the same side as the new one, and the matrix counts the open
positions whose correlation, signed by both directions, reaches the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import combinations

import numpy as np

from tradestream.core.risk.proposal import ProposedOrder, Refused, RiskContext

MIN_SAMPLES = 3


def _direction(size: Decimal) -> int:
    return 1 if size > 0 else -1


class Correlations:
    """Hold a symmetric correlation per pair of symbols (None when unknown)."""

    def __init__(self, pairs: Mapping[tuple[str, str], float] | None = None) -> None:
        self._pairs: dict[frozenset[str], float] = {}
        for (first, second), rho in (pairs or {}).items():
            if first == second or not -1.0 <= rho <= 1.0:
                raise ValueError(f"correlation of {first}/{second} must be in [-1, 1]: {rho}")
            self._pairs[frozenset((first, second))] = rho

    @classmethod
    def from_returns(cls, returns: Mapping[str, Sequence[float]]) -> Correlations:
        """Correlate the most recent returns each pair of symbols has in common."""
        pairs: dict[tuple[str, str], float] = {}
        for first, second in combinations(sorted(returns), 2):
            length = min(len(returns[first]), len(returns[second]))
            if length < MIN_SAMPLES:
                continue
            a = np.asarray(returns[first][-length:], dtype=float)
            b = np.asarray(returns[second][-length:], dtype=float)
            if a.std() == 0 or b.std() == 0:
                continue
            rho = float(np.corrcoef(a, b)[0, 1])
            if math.isfinite(rho):
                pairs[(first, second)] = max(-1.0, min(1.0, rho))
        return cls(pairs)

    def get(self, first: str, second: str) -> float | None:
        """Return the correlation of two symbols, 1 for a symbol with itself, None if unknown."""
        if first == second:
            return 1.0
        return self._pairs.get(frozenset((first, second)))


class CorrelatedGroupLimit:
    """Refuse a new position in a configured group that already holds ``limit`` on its side."""

    name = "correlated_group"

    def __init__(self, groups: Mapping[str, tuple[str, ...]], limit: int) -> None:
        self.groups = dict(groups)
        self.limit = limit

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Count same-side positions in every group that holds the order's symbol."""
        if not order.new_position:
            return None
        direction = _direction(order.size_after)
        for name, symbols in self.groups.items():
            if order.symbol not in symbols:
                continue
            same_side = [
                s
                for s in symbols
                if s != order.symbol and s in context.sizes
                if _direction(context.sizes[s]) == direction
            ]
            if len(same_side) >= self.limit:
                held = ", ".join(same_side)
                return Refused(
                    self.name, f"group {name} already holds {held} on this side, limit {self.limit}"
                )
        return None


class CorrelationLimit:
    """Refuse a new position that moves with ``limit`` or more open ones (measured)."""

    name = "correlation"

    def __init__(
        self, threshold: float, limit: int, correlations: Correlations | None = None
    ) -> None:
        self.threshold = threshold
        self.limit = limit
        self.correlations = correlations or Correlations()

    def check(self, order: ProposedOrder, context: RiskContext) -> Refused | None:
        """Count open symbols whose direction-signed correlation reaches the threshold."""
        if not order.new_position:
            return None
        direction = _direction(order.size_after)
        correlated = []
        for symbol, size in context.sizes.items():
            rho = self.correlations.get(order.symbol, symbol) if symbol != order.symbol else None
            if rho is not None and rho * direction * _direction(size) >= self.threshold:
                correlated.append(symbol)
        if len(correlated) >= self.limit:
            return Refused(
                self.name,
                f"{order.symbol} correlates at >= {self.threshold} with "
                f"{', '.join(sorted(correlated))}, limit {self.limit}",
            )
        return None
