"""Retry policy: full-jitter exponential backoff, capped, for retryable outcomes only."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tradestream.core.resilience import Outcome, RetryPolicy, RetryPolicyConfig


class FixedRandom:
    """Return the same draw every time, so the backoff ceiling is visible."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


CONFIG = RetryPolicyConfig(base_delay_s=0.5, max_delay_s=4.0, max_attempts=5)


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (500, 4.0)]
)
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert RetryPolicy(CONFIG, FixedRandom(1.0)).backoff_s(attempt) == pytest.approx(ceiling)
    assert RetryPolicy(CONFIG, FixedRandom(0.0)).backoff_s(attempt) == 0.0


@given(attempt=st.integers(min_value=1, max_value=10_000), seed=st.integers())
def test_full_jitter_stays_between_zero_and_the_ceiling(attempt: int, seed: int) -> None:
    delay = RetryPolicy(CONFIG, random.Random(seed)).backoff_s(attempt)

    assert 0.0 <= delay <= min(4.0, 0.5 * 2 ** min(attempt - 1, 62))


@pytest.mark.parametrize(
    "outcome",
    [Outcome.OK, Outcome.AMBIGUOUS, Outcome.ALREADY_PLACED, Outcome.NOT_OPEN, Outcome.REJECT],
)
def test_only_retryable_outcomes_are_retried(outcome: Outcome) -> None:
    decision = RetryPolicy(CONFIG, FixedRandom(0.5)).decide(outcome, attempt=1)

    assert not decision.retry


def test_attempts_are_capped() -> None:
    policy = RetryPolicy(CONFIG, FixedRandom(0.5))

    assert policy.decide(Outcome.UNAVAILABLE, attempt=4).retry
    assert not policy.decide(Outcome.UNAVAILABLE, attempt=5).retry


def test_a_rate_limited_retry_waits_at_least_for_the_exchange_reset() -> None:
    decision = RetryPolicy(CONFIG, FixedRandom(0.5)).decide(
        Outcome.RATE_LIMITED, attempt=1, retry_after_s=2.5
    )

    assert decision.retry
    assert decision.delay_s == 2.5


def test_a_timestamp_error_asks_for_a_clock_resync_first() -> None:
    decision = RetryPolicy(CONFIG, FixedRandom(0.5)).decide(Outcome.RESYNC_TIME, attempt=1)

    assert decision.retry
    assert decision.resync_time
    assert decision.delay_s == pytest.approx(0.25)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="count from 1"):
        RetryPolicy(CONFIG, FixedRandom(0.5)).backoff_s(0)


@pytest.mark.parametrize(
    "bad", [{"base_delay_s": 0}, {"max_attempts": 0}, {"base_delay_s": 5, "max_delay_s": 1}]
)
def test_config_is_validated(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RetryPolicyConfig.model_validate(bad)
