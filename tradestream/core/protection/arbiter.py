"""Pick one close among the rules that fired for a position at the same moment.

The lowest priority number wins (trailing stop 10 before take profit 20, stop loss 30, aged 40,
time stop 50 by default); a kill-switch close beats any configured number. Ties go to the larger
close, then to the rule's name, so the same decisions always give the same winner. The losers
come back as ``Suppressed`` records naming the winner, for counting and the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tradestream.core.protection.decisions import (
    CloseDecision,
    ProtectionRule,
    Suppressed,
    SuppressReason,
)


@dataclass(frozen=True, slots=True)
class Arbitration:
    """The close to send (None: nothing fired) and the ones it suppressed."""

    winner: CloseDecision | None
    suppressed: tuple[Suppressed, ...] = ()


def arbitrate(decisions: Iterable[CloseDecision]) -> Arbitration:
    """Return the highest-priority close and the others as suppressed by it."""
    ranked = sorted(decisions, key=_rank)
    if not ranked:
        return Arbitration(None)
    winner, *losers = ranked
    detail = f"{winner.rule} (priority {winner.priority}) closes {winner.position_key} instead"
    return Arbitration(
        winner,
        tuple(Suppressed(loser, SuppressReason.LOWER_PRIORITY, detail) for loser in losers),
    )


# Kill switch first, then the configured priority, the larger close, the names.
def _rank(decision: CloseDecision) -> tuple[int, int, object, str, str]:
    override = 0 if decision.rule is ProtectionRule.KILL_SWITCH else 1
    return (override, decision.priority, -decision.fraction, decision.rule, decision.stage)
