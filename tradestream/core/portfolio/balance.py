"""The account's cash that no execution explains: deposits, withdrawals, funding, a wrong start.

Our equity is the starting balance plus what the executions made (realized PnL, fees) plus the
open positions at our marks. The exchange's equity also moves with money no execution carries:
a transfer in or out, every funding payment of a perpetual, or a starting balance set to
something else than the account holds. Left alone, that gap makes percent-of-equity sizing,
the daily-loss limit and the drawdown from the peak all measure the wrong account.

Reconciliation reports the exchange's equity; ``BalanceCheck`` compares it with ours. A gap
larger than the tolerance (marks differ between us and the exchange, a fill may be on its way)
that stays the same, within the tolerance, across two looks at least ``confirm_after_ms`` apart
is unexplained cash: the caller shifts the starting balance by it (and the day's opening equity
and the peak with it, since cash is not profit) and audits the correction. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BalanceCheckConfig:
    """How large and how lasting a gap must be before it is corrected."""

    tolerance_usdt: Decimal = Decimal(5)
    tolerance_fraction: Decimal = Decimal("0.005")
    confirm_after_ms: int = 5_000

    def tolerance(self, equity: Decimal) -> Decimal:
        """Return the gap tolerated at ``equity``: the larger of the absolute and relative."""
        return max(self.tolerance_usdt, abs(equity) * self.tolerance_fraction)


class BalanceCheck:
    """Decide when the exchange's equity says our starting balance is off, and by how much."""

    def __init__(self, config: BalanceCheckConfig | None = None) -> None:
        self.config = config or BalanceCheckConfig()
        self._seen: tuple[int, Decimal] | None = None  # first look at the current gap

    def observe(self, ours: Decimal, exchange: Decimal, now_ms: int) -> Decimal | None:
        """Take one look; return the amount to add to the starting balance, or None."""
        gap = exchange - ours
        tolerance = self.config.tolerance(exchange)
        if abs(gap) <= tolerance:
            self._seen = None
            return None
        seen = self._seen
        if seen is None or abs(gap - seen[1]) > tolerance:
            self._seen = (now_ms, gap)  # a new gap: look again before acting on it
            return None
        if now_ms - seen[0] < self.config.confirm_after_ms:
            return None
        self._seen = None
        return gap.quantize(_CENT)

    def to_json(self) -> dict[str, Any] | None:
        """Return the pending gap in table form (None when there is none)."""
        if self._seen is None:
            return None
        return {"since_ms": self._seen[0], "gap": str(self._seen[1])}

    def restore(self, stored: dict[str, Any] | None) -> None:
        """Take back a pending gap saved by ``to_json``."""
        self._seen = None if not stored else (int(stored["since_ms"]), Decimal(stored["gap"]))
