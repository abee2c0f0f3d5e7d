"""Settings of the matching engine: fees, leverage, latency and how resting orders fill."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, NonNegativeInt


class FeeConfig(BaseModel, frozen=True, extra="forbid"):
    """Maker and taker fee rates as fractions of notional (Bybit linear defaults)."""

    maker_rate: Decimal = Field(default=Decimal("0.0002"), ge=Decimal("-0.01"), le=Decimal("0.01"))
    taker_rate: Decimal = Field(default=Decimal("0.00055"), ge=0, le=Decimal("0.01"))

    def fee(self, notional: Decimal, *, is_maker: bool) -> Decimal:
        """Return the fee on ``notional``; negative is a maker rebate."""
        return notional * (self.maker_rate if is_maker else self.taker_rate)


class MatchingEngineConfig(BaseModel, frozen=True, extra="forbid"):
    """How the simulated exchange charges, margins and times orders."""

    fees: FeeConfig = FeeConfig()
    leverage: Decimal = Field(default=Decimal(10), gt=0, le=200)
    latency_ms: NonNegativeInt = 0
    fill_on_touch: bool = Field(
        default=False,
        description=(
            "Fill a resting order when the market reaches its price, not only when it trades "
            "through it; optimistic, because the queue ahead of us is unknown."
        ),
    )
