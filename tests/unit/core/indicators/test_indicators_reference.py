"""Indicators TA-Lib lacks (or computes less exactly), against naive from-scratch references.

Each reference recomputes the value over its whole window (or, for the recursive SuperTrend, runs
the textbook loop over the full arrays), independently of the incremental code. Exact sums make
the VWAPs and the volume profile equal to their ``math.fsum`` references bit for bit, so those are
compared with ``==``; the standard deviation and z-score within 1e-9 of an exactly rounded
two-pass computation, the SuperTrend within 1e-9 of the loop on TA-Lib's ATR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
import talib

from tests.unit.core.indicators.recorded_bars import (
    SYMBOLS,
    Bars,
    assert_agrees,
    field,
    recorded,
)
from tradestream.core.indicators import (
    Bollinger,
    RollingVwap,
    SessionVwap,
    SuperTrend,
    Trend,
    VolumeProfile,
)
from tradestream.core.indicators.vwap import DAY_MS

# Bins of about a tick-cluster for each symbol: a few bins per bar, ~50-200 per profile.
BIN_SIZES = {"BTCUSDT": 10.0, "DOGEUSDT": 0.0001}


@pytest.fixture(params=SYMBOLS, scope="module")
def bars(request: pytest.FixtureRequest) -> Bars:
    return recorded(request.param)


def two_pass_std(window: Sequence[float]) -> tuple[float, float]:
    """Return the mean and population std of the window, each sum exactly rounded."""
    mean = math.fsum(window) / len(window)
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in window) / len(window))


@pytest.mark.parametrize("period", [20])
def test_bollinger_std_and_zscore_match_two_pass(bars: Bars, period: int) -> None:
    closes = bars.close.tolist()
    bollinger = Bollinger(period)
    out = [bollinger.update(c) for c in closes]
    std_ref = np.full(len(closes), np.nan)
    z_ref = np.full(len(closes), np.nan)
    for i in range(period - 1, len(closes)):
        mean, std = two_pass_std(closes[i - period + 1 : i + 1])
        std_ref[i] = std
        z_ref[i] = (closes[i] - mean) / std if std > 0.0 else 0.0
    assert_agrees("std", field(out, "std"), std_ref)
    # z-score: a close at the mean is 0 ± rounding of the price; its scale is 1.
    assert_agrees("zscore", field(out, "zscore"), z_ref, floor=1.0)


def supertrend_reference(bars: Bars, period: int, multiplier: float) -> list[tuple[float, int]]:
    """Run TradingView's ta.supertrend loop (Pine: direction 1 = down) on TA-Lib's ATR."""
    high, low, close = bars.high.tolist(), bars.low.tolist(), bars.close.tolist()
    atr = talib.ATR(bars.high, bars.low, bars.close, period).tolist()
    out: list[tuple[float, int]] = []
    prev_upper = prev_lower = prev_line = math.nan
    for i, a in enumerate(atr):
        if math.isnan(a):
            out.append((math.nan, 0))
            continue
        hl2 = (high[i] + low[i]) / 2.0
        upper, lower = hl2 + multiplier * a, hl2 - multiplier * a
        if math.isnan(prev_line):
            direction = 1
        else:
            upper = upper if upper < prev_upper or close[i - 1] > prev_upper else prev_upper
            lower = lower if lower > prev_lower or close[i - 1] < prev_lower else prev_lower
            if prev_line == prev_upper:
                direction = -1 if close[i] > upper else 1
            else:
                direction = 1 if close[i] < lower else -1
        line = lower if direction == -1 else upper
        out.append((line, direction))
        prev_upper, prev_lower, prev_line = upper, lower, line
    return out


@pytest.mark.parametrize(("period", "multiplier"), [(10, 3.0), (7, 1.5)])
def test_supertrend_matches_the_pine_loop(bars: Bars, period: int, multiplier: float) -> None:
    supertrend = SuperTrend(period, multiplier)
    ours = [supertrend.update_candle(c) for c in bars.candles]
    reference = supertrend_reference(bars, period, multiplier)
    lines = np.array([line for line, _ in reference])
    assert_agrees("SuperTrend line", field(ours, "line"), lines)
    pine = {1: Trend.DOWN, -1: Trend.UP}
    trends = [s.trend for s in ours if s is not None]
    assert trends == [pine[d] for _, d in reference if d != 0]
    assert len(set(trends)) == 2  # it does flip on real data


def test_session_vwap_equals_the_sums_since_midnight(bars: Bars) -> None:
    vwap = SessionVwap()
    candles = bars.candles
    notional = [(c.high + c.low + c.close) / 3.0 * c.volume for c in candles]
    volume = [c.volume for c in candles]
    start = 0
    sessions = 0
    for i, candle in enumerate(candles):
        if candle.open_ts_ms // DAY_MS != candles[start].open_ts_ms // DAY_MS:
            start = i
            sessions += 1
        # every 13th bar and each session's first bars, to keep the quadratic reference quick
        if i % 13 and i - start > 3:
            vwap.update_candle(candle)
            continue
        expected = math.fsum(notional[start : i + 1]) / math.fsum(volume[start : i + 1])
        assert vwap.update_candle(candle) == expected, i
    assert sessions == 30


def test_session_vwap_resets_by_hand_and_without_sessions() -> None:
    vwap = SessionVwap(session_ms=None)
    assert vwap.update(10.0, 1.0, ts_ms=0) == 10.0
    assert vwap.update(20.0, 3.0, ts_ms=10 * DAY_MS) == 17.5  # no automatic reset
    vwap.reset()
    assert vwap.value is None
    assert not vwap.ready
    assert vwap.update(30.0, 2.0) == 30.0


@pytest.mark.parametrize("period", [1, 60, 1_440])
def test_rolling_vwap_equals_the_window_sums(bars: Bars, period: int) -> None:
    vwap = RollingVwap(period)
    candles = bars.candles
    notional = [(c.high + c.low + c.close) / 3.0 * c.volume for c in candles]
    volume = bars.volume.tolist()
    for i, candle in enumerate(candles):
        got = vwap.update_candle(candle)
        if i < period - 1:
            assert got is None
        elif i % 37 == 0 or i < 2 * period:
            window = slice(i - period + 1, i + 1)
            assert got == math.fsum(notional[window]) / math.fsum(volume[window]), i


def profile_reference(
    highs: list[float], lows: list[float], volumes: list[float], size: float, share: float
) -> tuple[tuple[float, float, float], dict[float, float]]:
    """Bin the window from scratch and grow the value area by the documented rules."""
    parts: dict[int, list[float]] = {}
    for high, low, volume in zip(highs, lows, volumes, strict=True):
        first, last = math.floor(low / size), math.floor(high / size)
        for i in range(first, last + 1):
            parts.setdefault(i, []).append(volume / (last - first + 1))
    bins = {i: math.fsum(p) for i, p in parts.items()}
    lo_bin, hi_bin = min(bins), max(bins)
    filled = {i: bins.get(i, 0.0) for i in range(lo_bin, hi_bin + 1)}
    poc = max(filled, key=lambda i: (filled[i], -i))  # most volume, then lowest price
    target = share * math.fsum(volumes)
    low = high = poc
    covered = filled[poc]
    while covered < target and (low > lo_bin or high < hi_bin):
        above = filled.get(high + 1, -1.0)
        below = filled.get(low - 1, -1.0)
        if above >= below:
            high, covered = high + 1, covered + above
        else:
            low, covered = low - 1, covered + below
    levels = ((poc + 0.5) * size, (high + 1) * size, low * size)
    return levels, {i * size: bins[i] for i in sorted(bins)}


@pytest.mark.parametrize(
    ("symbol", "period", "share"), [("BTCUSDT", 120, 0.7), ("DOGEUSDT", 30, 0.9)]
)
def test_volume_profile_equals_a_rebuilt_profile(symbol: str, period: int, share: float) -> None:
    bars = recorded(symbol)
    size = BIN_SIZES[symbol]
    profile = VolumeProfile(period, size, share)
    high, low, volume = bars.high.tolist(), bars.low.tolist(), bars.volume.tolist()
    checked = 0
    for i, candle in enumerate(bars.candles):
        got = profile.update_candle(candle)
        if i < period - 1:
            assert got is None
            continue
        if i % 89 and i > period + 3:
            continue
        window = slice(i - period + 1, i + 1)
        levels, volumes = profile_reference(high[window], low[window], volume[window], size, share)
        assert got is not None
        assert (got.poc, got.vah, got.val) == levels, i
        assert profile.volumes() == volumes, i
        assert got.val <= got.poc <= got.vah
        checked += 1
    assert checked > 450
