"""Stale prices: no rule acts on a price too old for it, and a silent symbol raises an alarm.

A price's age is judged per rule (``ok`` / ``degraded`` / ``critical``; by default a stop acts on
a price up to 30 s old, an aged check up to 300 s): a close decided on a price critical for its
rule is suppressed, with the age. A symbol with an open position is judged on the timer against
the ``alert`` thresholds; each worsening is reported once as a ``StalePriceAlert``. Past
``emergency_after_s`` the configured action is due once per silence (a ``StaleEmergency``) and,
unless the action only alerts, the position gets a ``stale_price`` close (flagged to confirm a
price over REST first when so configured). A symbol never priced since the position opened counts
as silent since the opening.
"""

from __future__ import annotations

from tradestream.core.protection.config import ProtectionConfig
from tradestream.core.protection.decisions import (
    CloseDecision,
    ProtectionRule,
    StaleAction,
    StaleEmergency,
    StalePriceAlert,
    Suppressed,
    SuppressReason,
)
from tradestream.core.protection.rules import build_close
from tradestream.core.protection.state import SymbolState
from tradestream.core.staleness import Freshness, StalenessThresholds

_SEVERITY = {Freshness.OK: 0, Freshness.DEGRADED: 1, Freshness.CRITICAL: 2}


def classify(age_s: float | None, thresholds: StalenessThresholds) -> Freshness:
    """Judge a price ``age_s`` old (None: there is none) against ``thresholds``."""
    if age_s is None or age_s >= thresholds.critical_s:
        return Freshness.CRITICAL
    if age_s >= thresholds.degraded_s:
        return Freshness.DEGRADED
    return Freshness.OK


def price_age_s(entry: SymbolState, now_ms: int) -> float | None:
    """Return the age of the symbol's last price (since the opening if it has none)."""
    if entry.price is not None:
        return entry.price.age_s(now_ms)
    if entry.position is not None:
        return max(now_ms - entry.position.view.opened_ts_ms, 0) / 1000
    return None


def stale_for(decision: CloseDecision, age_s: float | None, config: ProtectionConfig) -> bool:
    """Tell whether ``decision`` was taken on a price too old for its rule."""
    if decision.rule in (ProtectionRule.STALE_PRICE, ProtectionRule.KILL_SWITCH):
        return False
    return classify(age_s, config.staleness.for_rule(decision.rule)) is Freshness.CRITICAL


def suppress_stale(decision: CloseDecision, age_s: float | None) -> Suppressed:
    """Return the record of a close suppressed because its price was stale."""
    age = "no price" if age_s is None else f"price {age_s:.1f} s old"
    return Suppressed(decision, SuppressReason.STALE_PRICE, f"{age}: not acting on it", age_s)


def watch(
    entry: SymbolState, config: ProtectionConfig, now_ms: int
) -> tuple[StalePriceAlert | None, StaleEmergency | None]:
    """Judge the symbol's silence: report a worsening, and the emergency once per silence."""
    state = entry.position
    if state is None:
        return None, None
    age = price_age_s(entry, now_ms)
    freshness = classify(age, config.staleness.alert)
    affected = (state.view.key,)
    alert = None
    if _SEVERITY[freshness] > _SEVERITY[entry.freshness]:
        alert = StalePriceAlert(entry.symbol, age, freshness, affected, now_ms)
    entry.freshness = freshness
    emergency = None
    if _in_emergency(age, config) and not entry.emergency_sent:
        action = config.staleness.emergency_action
        emergency = StaleEmergency(entry.symbol, age, action, affected, now_ms)
        entry.emergency_sent = True
    return alert, emergency


def stale_close(entry: SymbolState, config: ProtectionConfig, now_ms: int) -> CloseDecision | None:
    """Return the emergency close of a symbol silent past the threshold, unless only alerting."""
    state, action = entry.position, config.staleness.emergency_action
    age = price_age_s(entry, now_ms)
    if state is None or action is StaleAction.ALERT_ONLY or not _in_emergency(age, config):
        return None
    observed = entry.price.price if entry.price is not None else None
    reason = (
        f"no price for {age:.0f} s (limit {config.staleness.emergency_after_s:.0f} s): {action}"
    )
    check = action is StaleAction.CLOSE_AFTER_PRICE_CHECK
    return build_close(
        state,
        config,
        ProtectionRule.STALE_PRICE,
        reason,
        now_ms,
        observed=observed,
        requires_price_check=check,
    )


def refresh(entry: SymbolState, config: ProtectionConfig, now_ms: int) -> None:
    """Forget a silence once a price fresh by the alert thresholds arrived."""
    if classify(price_age_s(entry, now_ms), config.staleness.alert) is Freshness.OK:
        entry.freshness, entry.emergency_sent = Freshness.OK, False


def _in_emergency(age_s: float | None, config: ProtectionConfig) -> bool:
    return age_s is not None and age_s >= config.staleness.emergency_after_s
