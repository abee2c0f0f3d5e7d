"""Rolling moments and covariance: exact where the window is flat, two-pass accurate elsewhere."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.indicators.window import RollingCovariance, RollingMoments


def two_pass(window: list[float]) -> tuple[float, float]:
    mean = math.fsum(window) / len(window)
    return mean, math.fsum((x - mean) ** 2 for x in window) / len(window)


@settings(max_examples=30, deadline=None)
@given(
    level=st.sampled_from([0.0, 0.2, 1e5, 1e9]),
    steps=st.lists(st.integers(-50, 50), min_size=1, max_size=80),
    period=st.integers(2, 9),
)
def test_mean_and_variance_match_two_pass_far_from_zero(
    level: float, steps: list[int], period: int
) -> None:
    # Tick-sized moves around a large level: E[x²] - E[x]² would keep no digit of the variance.
    values = [level + 1e-4 * max(level, 1.0) * s for s in steps]
    moments = RollingMoments(period)
    for i, x in enumerate(values):
        moments.push(x)
        window = values[max(0, i - period + 1) : i + 1]
        mean, variance = two_pass(window)
        assert moments.full == (len(window) == period)
        # a mean that cancels to ~0 keeps only rounding noise of the values' size
        noise = 1e-15 * max(abs(x) for x in window)
        assert moments.mean == pytest.approx(mean, rel=1e-14, abs=noise)
        scale = max(variance, 1e-24 * max(level, 1.0) ** 2)
        assert abs(moments.variance - variance) <= 1e-9 * scale


def test_a_long_series_does_not_drift() -> None:
    moments = RollingMoments(50)
    values = [1e5 + math.sin(k * 0.37) * 30.0 + (k % 7) * 0.1 for k in range(60_000)]
    for x in values:
        moments.push(x)
    mean, variance = two_pass(values[-50:])
    assert moments.mean == pytest.approx(mean, rel=1e-15)
    assert moments.variance == pytest.approx(variance, rel=1e-12)


def test_correlation_matches_statistics() -> None:
    xs = [100.0 + math.sin(k) * 3 for k in range(40)]
    ys = [50.0 + math.cos(k * 0.7) * 2 + xs[k] * 0.1 for k in range(40)]
    covariance = RollingCovariance(12)
    for x, y in zip(xs, ys, strict=True):
        covariance.push(x, y)
    expected = statistics.correlation(xs[-12:], ys[-12:])
    assert covariance.correlation == pytest.approx(expected, abs=1e-12)
