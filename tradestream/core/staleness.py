"""Per-symbol, per-topic staleness: how long since a stream last spoke, and how bad that is.

Bybit pushes depth-200 books every 100 ms and depth-50 every 20 ms, so a silent book stream is a
problem long before a silent trade stream (a quiet market may not trade for minutes).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, PositiveFloat, model_validator


class Freshness(StrEnum):
    """How a stream's silence is judged."""

    OK = "ok"
    DEGRADED = "degraded"
    CRITICAL = "critical"


class StalenessThresholds(BaseModel, frozen=True, extra="forbid"):
    """Seconds of silence after which a stream is degraded, then critical."""

    degraded_s: PositiveFloat = 180.0
    critical_s: PositiveFloat = 300.0

    @model_validator(mode="after")
    def _ordered(self) -> StalenessThresholds:
        if self.critical_s <= self.degraded_s:
            raise ValueError("critical_s must be greater than degraded_s")
        return self


class StalenessConfig(BaseModel, frozen=True, extra="forbid"):
    """Thresholds by topic kind (the prefix of the Bybit topic: ``orderbook.50`` or ``tickers``)."""

    default: StalenessThresholds = StalenessThresholds()
    by_kind: dict[str, StalenessThresholds] = {
        "orderbook.1": StalenessThresholds(degraded_s=15.0, critical_s=30.0),
        "orderbook.50": StalenessThresholds(degraded_s=30.0, critical_s=60.0),
    }

    def for_kind(self, kind: str) -> StalenessThresholds:
        """Return the thresholds of a topic kind."""
        return self.by_kind.get(kind, self.default)


def topic_kind(topic: str) -> str:
    """Return a Bybit topic without its symbol: ``orderbook.50.BTCUSDT`` → ``orderbook.50``."""
    return topic.rsplit(".", 1)[0]


class StalenessTracker:
    """Remember when each (symbol, topic kind) last received a frame; judge the silence."""

    def __init__(self, config: StalenessConfig) -> None:
        self._config = config
        self._last: dict[tuple[str, str], float] = {}

    def expect(self, symbol: str, kind: str, now: float) -> None:
        """Start the clock for a subscribed stream that has not spoken yet."""
        self._last.setdefault((symbol, kind), now)

    def seen(self, symbol: str, kind: str, now: float) -> None:
        """Record a frame."""
        self._last[(symbol, kind)] = now

    def report(self, now: float) -> Iterator[tuple[str, str, float, Freshness]]:
        """Yield (symbol, kind, seconds silent, freshness) for every stream."""
        for (symbol, kind), last in self._last.items():
            age = max(now - last, 0.0)
            limits = self._config.for_kind(kind)
            if age >= limits.critical_s:
                freshness = Freshness.CRITICAL
            elif age >= limits.degraded_s:
                freshness = Freshness.DEGRADED
            else:
                freshness = Freshness.OK
            yield symbol, kind, age, freshness
