"""Retry policy: exponential backoff with full jitter, for retryable outcomes only.

Full jitter (a delay drawn uniformly from zero to the capped exponential) spreads the retries of
many workers that failed together, so they do not hit the exchange again in lockstep. The random
source is injected so tests and backtests are reproducible. The policy only decides; the async
caller waits. It never retries an ambiguous, duplicate or rejected answer: those need a query or
a human, not another request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, PositiveFloat, PositiveInt, model_validator

from tradestream.core.resilience.ret_codes import Outcome

_MAX_EXPONENT = 62


class RandomSource(Protocol):
    """Draw uniform floats in [0, 1); ``random.Random`` is one."""

    def random(self) -> float:
        """Return the next float in [0, 1)."""
        ...


class RetryPolicyConfig(BaseModel, frozen=True, extra="forbid"):
    """How long to back off and how many attempts to make in all."""

    base_delay_s: PositiveFloat = 0.2
    max_delay_s: PositiveFloat = 10.0
    max_attempts: PositiveInt = 5

    @model_validator(mode="after")
    def _check_cap(self) -> RetryPolicyConfig:
        if self.max_delay_s < self.base_delay_s:
            raise ValueError("max_delay_s must be at least base_delay_s")
        return self


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Whether to resend, after how long, and whether to resync the clock first."""

    retry: bool
    delay_s: float = 0.0
    resync_time: bool = False
    reason: str = ""


class RetryPolicy:
    """Decide, after each failed attempt, whether and when to try again."""

    def __init__(self, config: RetryPolicyConfig, rng: RandomSource) -> None:
        self.config = config
        self._rng = rng

    def backoff_s(self, attempt: int) -> float:
        """Return a full-jitter delay after the ``attempt``-th attempt (1-based)."""
        if attempt < 1:
            raise ValueError(f"attempts count from 1, got {attempt}")
        exponent = min(attempt - 1, _MAX_EXPONENT)
        ceiling = min(self.config.max_delay_s, self.config.base_delay_s * 2.0**exponent)
        return self._rng.random() * ceiling

    def decide(self, outcome: Outcome, attempt: int, retry_after_s: float = 0.0) -> RetryDecision:
        """Decide what follows the ``attempt``-th attempt, which ended with ``outcome``.

        ``retry_after_s`` is the exchange's own hint (from ``X-Bapi-Limit-Reset-Timestamp``);
        a rate-limited retry never comes sooner than that.
        """
        if not outcome.retryable:
            return RetryDecision(retry=False, reason=f"{outcome} is not retryable")
        if attempt >= self.config.max_attempts:
            return RetryDecision(
                retry=False, reason=f"gave up after {attempt} attempts ({outcome})"
            )
        delay = self.backoff_s(attempt)
        if outcome is Outcome.RATE_LIMITED:
            delay = max(delay, retry_after_s)
        return RetryDecision(
            retry=True,
            delay_s=delay,
            resync_time=outcome is Outcome.RESYNC_TIME,
            reason=f"{outcome}: retry {attempt + 1} of {self.config.max_attempts}",
        )
