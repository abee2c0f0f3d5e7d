"""Configure the simulator's exchange side: accounts, balance, instrument rules and rate limits."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, PositiveFloat, SecretStr

from tradestream.core.matching import MatchingEngineConfig
from tradestream.core.resilience import RateLimitConfig


class InstrumentSpec(BaseModel, frozen=True, extra="forbid"):
    """The steps and minimums the simulator enforces and reports for one symbol."""

    tick_size: Decimal = Decimal("0.01")
    qty_step: Decimal = Decimal("0.001")
    min_qty: Decimal = Decimal("0.001")
    max_qty: Decimal = Decimal("1000000")
    min_notional: Decimal = Decimal("5")


class ExchangeSideConfig(BaseModel, frozen=True, extra="forbid"):
    """Serve Bybit's private REST and WebSocket for one simulated account."""

    api_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"sim-key": SecretStr("sim-secret")}
    )
    """API key → secret; requests signed with anything else get retCode 10003/10004."""
    initial_balance: Decimal = Decimal("100000")
    engine: MatchingEngineConfig = MatchingEngineConfig()
    rate_limits: RateLimitConfig = RateLimitConfig()
    instrument: InstrumentSpec = InstrumentSpec()
    """Rules of every symbol not listed in ``instruments``."""
    instruments: dict[str, InstrumentSpec] = Field(default_factory=dict)
    match_interval_s: PositiveFloat = 0.05
    """How often resting orders are matched against the public side's books."""

    def spec(self, symbol: str) -> InstrumentSpec:
        """Return the rules of ``symbol``."""
        return self.instruments.get(symbol, self.instrument)

    def secrets(self) -> dict[str, str]:
        """Return the API key → secret map in clear, for signature checks only."""
        return {key: secret.get_secret_value() for key, secret in self.api_keys.items()}
