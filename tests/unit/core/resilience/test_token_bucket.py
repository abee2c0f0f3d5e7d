"""Token buckets: burst, steady rate, wait times and a clock that misbehaves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradestream.core.resilience import KeyedTokenBuckets, RateLimiter, TokenBucket


def test_a_full_bucket_grants_the_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=3)

    assert [bucket.try_acquire(now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire(now=100.0) == pytest.approx(0.1)


def test_tokens_come_back_at_the_rate_up_to_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=3)
    for _ in range(3):
        bucket.try_acquire(now=0.0)

    assert bucket.available(now=0.05) == pytest.approx(0.5)
    assert bucket.try_acquire(now=0.05) == pytest.approx(0.05)
    assert bucket.try_acquire(now=0.1) == 0.0
    assert bucket.available(now=60.0) == 3


def test_a_clock_stepping_back_mints_no_tokens() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=1)
    bucket.try_acquire(now=10.0)

    assert bucket.try_acquire(now=5.0) == pytest.approx(1.0)
    assert bucket.try_acquire(now=10.5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("rate", "burst", "cost"), [(0, 1, 1), (-1, 1, 1), (1, 0.5, 1), (1, 2, 3), (1, 2, 0)]
)
def test_impossible_settings_are_refused(rate: float, burst: float, cost: float) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        TokenBucket(rate_per_s=rate, burst=burst).try_acquire(0.0, cost=cost)


@given(
    rate=st.floats(min_value=0.5, max_value=100),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200),
)
def test_grants_never_exceed_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate_per_s=rate, burst=burst)
    now, granted = 0.0, 0
    for gap in gaps:
        now += gap
        wait = bucket.try_acquire(now)
        assert wait >= 0.0
        granted += wait == 0.0

    assert granted <= burst + rate * now + 1e-9


def test_keys_have_independent_buckets() -> None:
    limiter: RateLimiter = KeyedTokenBuckets(rate_per_s=1, burst=1)

    assert limiter.try_acquire("BTCUSDT", 0.0) == 0.0
    assert limiter.try_acquire("BTCUSDT", 0.0) > 0.0
    assert limiter.try_acquire("ETHUSDT", 0.0) == 0.0
