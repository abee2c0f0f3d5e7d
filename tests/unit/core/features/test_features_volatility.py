"""Return statistics against numpy on random paths, and rates of change on hand paths."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.features import FeatureConfig, FeatureEngine

CONFIG = FeatureConfig(volatility_windows_ms=(1_000, 10_000), roc_horizons_ms=(1_000,))


def feed_mid(engine: FeatureEngine, ts: int, mid: float) -> float:
    """Put a one-level book around ``mid``; return the mid the engine computes from it."""
    bid, ask = mid * (1 - 1e-5), mid * (1 + 1e-5)
    engine.on_book(ts, [bid], [1.0], [ask], [1.0])
    return 0.5 * (bid + ask)


def reference_stats(returns: list[float]) -> tuple[float, float, float, float]:
    r = np.asarray(returns)
    if r.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    vol = float(np.sqrt(np.sum(r * r)))
    std = float(np.std(r, ddof=1)) if r.size > 1 else 0.0
    centred = r - r.mean()
    m2 = float(np.mean(centred**2))
    # No absolute floor: the caller compares skew only where the variance is resolvable.
    skew = float(np.mean(centred**3)) / m2**1.5 if r.size > 2 and m2 > 0 else 0.0
    return vol, float(r.mean()), std, skew


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 700), st.floats(-50.0, 50.0)), min_size=1, max_size=80)
)
def test_rolling_stats_match_numpy_on_random_paths(steps: list[tuple[int, float]]) -> None:
    engine = FeatureEngine(CONFIG)
    ts, mid = 0, 100.0
    seen = [(ts, feed_mid(engine, ts, mid))]
    for gap, move_bps in steps:
        ts += gap
        mid *= math.exp(move_bps / 1e4)
        seen.append((ts, feed_mid(engine, ts, mid)))
    f = engine.as_dict()
    returns = [(t, 1e4 * math.log(m / m0)) for (_, m0), (t, m) in pairwise(seen)]
    # Windowed power sums err in proportion to the magnitudes over the longest window, not to
    # the window's own content or its variance (ring.py, volatility.py): scale tolerances so.
    square_scale = math.fsum(r * r for _, r in returns)
    for window, name in ((1_000, "1s"), (10_000, "10s")):
        inside = [r for t, r in returns if t > ts - window]
        vol, mean, std, skew = reference_stats(inside)
        n = max(len(inside), 1)
        assert f[f"realized_vol_{name}"] ** 2 == pytest.approx(vol**2, abs=1e-12 * square_scale)
        assert f[f"return_mean_{name}"] == pytest.approx(
            mean, abs=1e-12 * math.sqrt(square_scale * len(returns)) / n
        )
        assert f[f"return_std_{name}"] ** 2 == pytest.approx(
            std**2, rel=1e-9, abs=1e-12 * square_scale
        )
        if std**2 > 1e-4 * square_scale / n:
            assert f[f"return_skew_{name}"] == pytest.approx(skew, rel=1e-6, abs=1e-6)


def test_statistics_are_zero_until_defined() -> None:
    engine = FeatureEngine(CONFIG)
    feed_mid(engine, 0, 100.0)
    f = engine.as_dict()
    assert (f["realized_vol_1s"], f["return_mean_1s"], f["return_std_1s"]) == (0, 0, 0)
    feed_mid(engine, 10, 101.0)
    f = engine.as_dict()
    assert f["realized_vol_1s"] == pytest.approx(1e4 * math.log(101.0 / 100.0), rel=1e-6)
    assert (f["return_std_1s"], f["return_skew_1s"]) == (0.0, 0.0)


def test_flat_mid_has_zero_volatility_and_skew() -> None:
    engine = FeatureEngine(CONFIG)
    for ts in range(0, 500, 10):
        feed_mid(engine, ts, 100.0)
    f = engine.as_dict()
    assert (f["realized_vol_1s"], f["return_std_1s"], f["return_skew_1s"]) == (0, 0, 0)


def test_returns_leave_the_window_with_time() -> None:
    engine = FeatureEngine(CONFIG)
    feed_mid(engine, 0, 100.0)
    feed_mid(engine, 100, 110.0)
    engine.on_clock(1_100)
    f = engine.as_dict()
    assert f["realized_vol_1s"] == 0.0
    assert f["realized_vol_10s"] == pytest.approx(1e4 * math.log(1.1), rel=1e-6)


def test_rate_of_change_and_acceleration_on_a_hand_path() -> None:
    engine = FeatureEngine(CONFIG)
    m0 = feed_mid(engine, 0, 100.0)
    m1 = feed_mid(engine, 500, 101.0)
    m2 = feed_mid(engine, 1_500, 102.0)
    f = engine.as_dict()
    # mid in effect at 1500 - 1000 = 500 is m1; at 1500 - 2000 (before history) the first, m0.
    recent, before = 1e4 * math.log(m2 / m1), 1e4 * math.log(m1 / m0)
    assert f["mid_roc_1s"] == pytest.approx(recent / 1.0)
    assert f["mid_accel_1s"] == pytest.approx((recent - before) / 1.0**2)
    assert f["microprice_roc_1s"] == pytest.approx(f["mid_roc_1s"])  # equal sizes: micro = mid


def test_one_sided_book_skips_the_return() -> None:
    engine = FeatureEngine(CONFIG)
    feed_mid(engine, 0, 100.0)
    engine.on_book(10, [], [], [150.0], [1.0])
    m = feed_mid(engine, 20, 100.5)
    f = engine.as_dict()
    assert f["realized_vol_1s"] == pytest.approx(abs(1e4 * math.log(m / 100.0)), rel=1e-6)
