"""What the risk agent allows: ``RiskConfig``, loaded from ``config/risk.yaml``.

Fractions are of equity and written as fractions (``0.02`` is 2 %); money is USDT in ``Decimal``.
The defaults are the product's: at most 10 open positions and one per symbol, 2 % of equity at
risk per trade and 10 % in total, halt at a 5 % daily loss or a 20 % drawdown, at most 3
positions that move together. Cross-field checks refuse a file whose limits contradict each
other (a trade's risk above the total, a fixed trade above the per-symbol cap).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, Field, PositiveInt, StringConstraints, model_validator

from tradestream.schemas.orders import Symbol

Fraction = Annotated[Decimal, Field(gt=0, le=1)]
Usdt = Annotated[Decimal, Field(gt=0)]
GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]

DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "majors": ("BTCUSDT", "ETHUSDT"),
    "layer1": ("SOLUSDT", "AVAXUSDT", "NEARUSDT"),
}


class SizingMode(StrEnum):
    """How the size of a new position is chosen."""

    FIXED_NOTIONAL = "fixed_notional"
    PERCENT_EQUITY = "percent_equity"
    RISK_PER_TRADE = "risk_per_trade"
    VOLATILITY = "volatility"


class SizingConfig(BaseModel, frozen=True, extra="forbid"):
    """Size new positions; a signal's own ``notional_usdt`` (manual trades) overrides the mode."""

    mode: SizingMode = SizingMode.FIXED_NOTIONAL
    fixed_notional_usdt: Usdt = Decimal(100)
    equity_fraction: Fraction = Decimal("0.05")
    atr_indicator: str = Field(default="atr", min_length=1)
    atr_multiple: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(2)
    scale_by_strength: bool = False


class RiskConfig(BaseModel, frozen=True, extra="forbid"):
    """Account-wide limits, sizing and kill-switch thresholds the risk agent enforces."""

    max_open_positions: PositiveInt = 10
    max_positions_per_symbol: PositiveInt = 1
    risk_per_trade: Fraction = Decimal("0.02")
    max_total_risk: Fraction = Decimal("0.10")
    assumed_stop_fraction: Fraction = Decimal("0.05")
    max_daily_loss: Fraction = Decimal("0.05")
    max_daily_loss_usdt: Usdt | None = None
    max_drawdown: Fraction = Decimal("0.20")
    max_correlated_positions: PositiveInt = 3
    correlation_threshold: Annotated[float, Field(gt=0, le=1)] = 0.7
    symbol_groups: dict[GroupName, tuple[Symbol, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_GROUPS)
    )
    max_position_notional_usdt: Usdt = Decimal(5000)
    max_gross_notional_usdt: Usdt = Decimal(20000)
    max_leverage: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(5)
    max_orders_per_minute: PositiveInt = 60
    pending_order_ttl_ms: PositiveInt = 30_000
    kill_switch_close_retry_ms: PositiveInt = 10_000
    daily_reset_hour_utc: Annotated[int, Field(ge=0, le=23)] = 0
    sizing: SizingConfig = SizingConfig()

    @model_validator(mode="after")
    def _check_limits_agree(self) -> Self:
        if self.risk_per_trade > self.max_total_risk:
            raise ValueError(
                f"risk_per_trade {self.risk_per_trade} exceeds max_total_risk {self.max_total_risk}"
            )
        if self.max_position_notional_usdt > self.max_gross_notional_usdt:
            raise ValueError("max_position_notional_usdt exceeds max_gross_notional_usdt")
        fixed = self.sizing.fixed_notional_usdt
        if fixed > self.max_position_notional_usdt:
            raise ValueError(
                f"sizing.fixed_notional_usdt {fixed} exceeds max_position_notional_usdt "
                f"{self.max_position_notional_usdt}: every trade would be refused"
            )
        return self

    @model_validator(mode="after")
    def _check_groups(self) -> Self:
        for name, symbols in self.symbol_groups.items():
            if len(symbols) < 2 or len(set(symbols)) != len(symbols):
                raise ValueError(f"symbol group {name!r} needs two or more distinct symbols")
        return self

    def groups_of(self, symbol: str) -> tuple[str, ...]:
        """Return the names of the configured groups that hold ``symbol``."""
        return tuple(name for name, symbols in self.symbol_groups.items() if symbol in symbols)
