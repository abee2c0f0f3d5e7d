"""How open positions are protected: ``ProtectionConfig``, loaded from ``config/protection.yaml``.

Fractions are of the entry price (``0.015`` is 1.5 %); times are hours or seconds as named. The
defaults are the product's: trailing stop from +1.5 % with a 0.5 % callback, widened to 1 / 1.5 /
2 % at 2 / 5 / 10 % profit; stop to breakeven at +0.5 %; half the position taken at +2 %; aged
positions after 3 hours (8 hours' grace at breakeven, then 0.5 % more loss accepted per hour,
x1.2 after 10 hours, at most 10 %, market close 28 hours after ageing); closes rank trailing stop
10, take profit 20, stop loss 30, aged 40, time stop 50 (lower wins, the kill switch beats all).

``symbols`` overrides any of it per symbol (``{"DOGEUSDT": {"trailing": {"callback": "0.01"}}}``);
every override is merged and validated at load, so a bad one fails at start, not at the trade.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from tradestream.core.protection.decisions import ProtectionRule, StaleAction
from tradestream.core.protection.prices import PriceKind
from tradestream.core.staleness import StalenessThresholds
from tradestream.schemas.orders import Symbol

Fraction = Annotated[Decimal, Field(gt=0, lt=1)]
Share = Annotated[Decimal, Field(gt=0, le=1)]
Hours = Annotated[Decimal, Field(gt=0, le=10_000)]

DEFAULT_PRIORITIES: dict[ProtectionRule, int] = {
    ProtectionRule.STALE_PRICE: 5,
    ProtectionRule.TRAILING_STOP: 10,
    ProtectionRule.TAKE_PROFIT: 20,
    ProtectionRule.STOP_LOSS: 30,
    ProtectionRule.AGED_POSITION: 40,
    ProtectionRule.TIME_STOP: 50,
}


def _thresholds(degraded_s: float, critical_s: float) -> StalenessThresholds:
    return StalenessThresholds(degraded_s=degraded_s, critical_s=critical_s)


DEFAULT_RULE_STALENESS: dict[ProtectionRule, StalenessThresholds] = {
    ProtectionRule.TRAILING_STOP: _thresholds(10, 30),
    ProtectionRule.TAKE_PROFIT: _thresholds(10, 30),
    ProtectionRule.STOP_LOSS: _thresholds(10, 30),
    ProtectionRule.AGED_POSITION: _thresholds(120, 300),
    ProtectionRule.TIME_STOP: _thresholds(120, 300),
}


class _Section(BaseModel, frozen=True, extra="forbid"):
    """Share the frozen, closed shape of every protection setting."""


class StopLossConfig(_Section):
    """Where the client-side stop-loss sits when the opening signal named none."""

    distance: Fraction = Decimal("0.02")
    use_signal: bool = True


class PartialTakeProfit(_Section):
    """Close ``fraction`` of what is left once the position is ``profit`` in the money."""

    profit: Fraction
    fraction: Share


class TakeProfitConfig(_Section):
    """Partial take-profits, then the final one (``distance`` None: trail the rest instead)."""

    distance: Fraction | None = None
    use_signal: bool = True
    partials: tuple[PartialTakeProfit, ...] = (
        PartialTakeProfit(profit=Decimal("0.02"), fraction=Decimal("0.5")),
    )

    @model_validator(mode="after")
    def _check_levels(self) -> Self:
        profits = [p.profit for p in self.partials]
        if profits != sorted(set(profits)):
            raise ValueError("partial take-profits must be at strictly increasing profits")
        if self.distance is not None and profits and profits[-1] >= self.distance:
            raise ValueError("every partial take-profit must come before the final one")
        return self


class BreakevenConfig(_Section):
    """Move the stop to entry plus ``offset`` (the fees) once the position is ``trigger`` up."""

    enabled: bool = True
    trigger_profit: Fraction = Decimal("0.005")
    offset: Annotated[Decimal, Field(ge=0, lt=1)] = Decimal("0.0011")

    @model_validator(mode="after")
    def _check_offset(self) -> Self:
        if self.offset >= self.trigger_profit:
            raise ValueError("the breakeven offset must be below its trigger profit")
        return self


class TrailingStep(_Section):
    """From ``profit`` (at the best price) on, trail ``distance`` behind the best price."""

    profit: Fraction
    distance: Fraction


class TrailingStopConfig(_Section):
    """Trail the best price once it is ``activation_profit`` up; the stop only ratchets.

    The distance is ``callback`` of the best price, or ``atr_multiple`` ATRs when an ATR is
    supplied, and at least the ladder's distance for the profit reached. The stop ratchets at
    almost every better price; it is recorded when it activates and then each time it tightened
    ``record_step`` of the entry price past the level last recorded (one row per step, not per
    tick).
    """

    enabled: bool = True
    activation_profit: Fraction = Decimal("0.015")
    callback: Fraction = Decimal("0.005")
    record_step: Fraction = Decimal("0.0025")
    atr_multiple: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(2)
    ladder: tuple[TrailingStep, ...] = (
        TrailingStep(profit=Decimal("0.02"), distance=Decimal("0.01")),
        TrailingStep(profit=Decimal("0.05"), distance=Decimal("0.015")),
        TrailingStep(profit=Decimal("0.10"), distance=Decimal("0.02")),
    )

    @model_validator(mode="after")
    def _check_ladder(self) -> Self:
        if self.callback >= self.activation_profit:
            raise ValueError("callback must be below activation_profit: a trail locks a profit")
        profits = [s.profit for s in self.ladder]
        distances = [s.distance for s in self.ladder]
        if profits != sorted(set(profits)) or distances != sorted(distances):
            raise ValueError("ladder steps need increasing profits and non-decreasing distances")
        return self


class TimeStopConfig(_Section):
    """Close a position held longer than ``max_holding_hours`` (None: never)."""

    max_holding_hours: Hours | None = None


class ExchangeStopConfig(_Section):
    """The hard stop the exchange holds: ``buffer`` beyond the client stop, only tightened."""

    enabled: bool = True
    buffer: Fraction = Decimal("0.01")
    min_interval_s: PositiveInt = 30
    trigger_by: PriceKind = PriceKind.MARK


class AgedPositionConfig(_Section):
    """When a position counts as aged and what loss its close may accept as it ages further.

    Aged time counts from ``max_age_hours`` after the opening (not from the hourly detection
    that noticed it), so the phases do not depend on when the timer ran.
    """

    enabled: bool = True
    detection_interval_s: PositiveInt = 3600
    max_age_hours: Hours = Decimal(3)
    grace_hours: Hours = Decimal(8)
    loss_step_per_hour: Fraction = Decimal("0.005")
    acceleration_after_hours: Hours = Decimal(10)
    acceleration_factor: Annotated[Decimal, Field(ge=1, le=10)] = Decimal("1.2")
    max_loss: Fraction = Decimal("0.10")
    emergency_after_hours: Hours = Decimal(28)
    taker_fee: Annotated[Decimal, Field(ge=0, lt=Decimal("0.01"))] = Decimal("0.00055")

    @model_validator(mode="after")
    def _check_phases(self) -> Self:
        if self.emergency_after_hours <= self.grace_hours:
            raise ValueError("emergency_after_hours must come after the grace period")
        return self


class StalenessConfig(_Section):
    """How old a price may be for each rule, and what a symbol without prices leads to.

    A rule's decision on a price that is critical for it is suppressed; ``alert`` classifies
    each symbol for the stale-price alert; past ``emergency_after_s`` the ``emergency_action``
    is due for every position on the symbol.
    """

    rules: dict[ProtectionRule, StalenessThresholds] = Field(
        default_factory=lambda: dict(DEFAULT_RULE_STALENESS)
    )
    alert: StalenessThresholds = _thresholds(10, 30)
    emergency_after_s: PositiveFloat = 900.0
    emergency_action: StaleAction = StaleAction.CLOSE_AFTER_PRICE_CHECK

    @field_validator("rules", mode="before")
    @classmethod
    def _fill_rules(cls, value: Any) -> Any:
        return {**DEFAULT_RULE_STALENESS, **value} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _check_emergency(self) -> Self:
        if self.emergency_after_s <= self.alert.critical_s:
            raise ValueError("emergency_after_s must come after the alert's critical_s")
        return self

    def for_rule(self, rule: ProtectionRule) -> StalenessThresholds:
        """Return the thresholds that judge the price a rule decides on."""
        return self.rules.get(rule, self.alert)


class ClosingConfig(_Section):
    """How long a close may stay unanswered, and the waits before each retry."""

    timeout_s: PositiveFloat = 10.0
    retry_delays_s: tuple[PositiveFloat, ...] = Field(default=(1.0, 3.0, 5.0), min_length=1)


class ProtectionConfig(_Section):
    """Every client-side protection rule, the arbiter's priorities, and per-symbol overrides."""

    price_kinds: frozenset[PriceKind] = Field(
        default=frozenset({PriceKind.LAST, PriceKind.MID}), min_length=1
    )
    priorities: dict[ProtectionRule, PositiveInt] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES)
    )
    stop_loss: StopLossConfig = StopLossConfig()
    take_profit: TakeProfitConfig = TakeProfitConfig()
    breakeven: BreakevenConfig = BreakevenConfig()
    trailing: TrailingStopConfig = TrailingStopConfig()
    time_stop: TimeStopConfig = TimeStopConfig()
    exchange_stop: ExchangeStopConfig = ExchangeStopConfig()
    aged: AgedPositionConfig = AgedPositionConfig()
    staleness: StalenessConfig = StalenessConfig()
    closing: ClosingConfig = ClosingConfig()
    symbols: dict[Symbol, dict[str, Any]] = Field(default_factory=dict)
    _by_symbol: dict[str, ProtectionConfig] = PrivateAttr(default_factory=dict)

    @field_validator("priorities", mode="before")
    @classmethod
    def _fill_priorities(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if ProtectionRule.KILL_SWITCH in value or "kill_switch" in value:
            raise ValueError("the kill switch overrides every rule; it has no priority to set")
        return {**DEFAULT_PRIORITIES, **value}

    @model_validator(mode="after")
    def _resolve_symbols(self) -> Self:
        base = self.model_dump(exclude={"symbols"})
        for symbol, override in self.symbols.items():
            if "symbols" in override:
                raise ValueError(f"{symbol}: an override cannot hold overrides")
            try:
                merged = ProtectionConfig.model_validate(_merge(base, override))
            except ValidationError as exc:
                details = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
                )
                raise ValueError(f"override of {symbol}: {details}") from exc
            self._by_symbol[symbol] = merged
        return self

    def for_symbol(self, symbol: str) -> ProtectionConfig:
        """Return the settings that apply to ``symbol`` (its override merged over these)."""
        return self._by_symbol.get(symbol, self)


# Merge an override into the base settings, section by section (a given list replaces).
def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in override.items():
        current = merged.get(name)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[name] = _merge(current, value)
        else:
            merged[name] = value
    return merged
