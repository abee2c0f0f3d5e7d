"""One real BTCUSDT signal per strategy, checked against an independent computation.

For each strategy the first signal of the 30 recorded days is pinned (its bar and side), its
indicator values are recomputed with TA-Lib (EMA, RSI, ADX, BBANDS, SAR, ATR) or a naive
whole-window reference written here (swing levels, SuperTrend, volume profile), and the reason it
fired is re-derived from those values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from tests.unit.core.strategies.recorded import Bars, Floats, bars_for, fresh, run
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

REL = 1e-9


def _first(kind: str) -> tuple[Bars, int, Signal]:
    bars = bars_for(kind)
    index, signal = run(fresh(kind), bars.candles)[0]
    return bars, index, signal


def _close_to(value: float, reference: float) -> bool:
    return math.isclose(value, reference, rel_tol=REL)


def _check_exits(bars: Bars, i: int, signal: Signal) -> None:
    # Exits: 1.5 and 3 TA-Lib ATR(14) from the close, on the losing and the winning side.
    atr = talib.ATR(bars.high, bars.low, bars.close, 14)[i]
    assert _close_to(signal.indicators["atr"], atr)
    sign = 1 if signal.side is Side.BUY else -1
    assert float(signal.stop_loss or 0) == pytest.approx(bars.close[i] - sign * 1.5 * atr)
    assert float(signal.take_profit or 0) == pytest.approx(bars.close[i] + sign * 3.0 * atr)


def test_trend_following() -> None:
    bars, i, signal = _first("trend_following")
    assert (bars.candles[i].open_ts_ms, signal.side) == (1_748_784_600_000, Side.BUY)  # 13:30 UTC
    fast, slow = talib.EMA(bars.close, 9), talib.EMA(bars.close, 21)
    rsi = talib.RSI(bars.close, 14)
    adx = talib.ADX(bars.high, bars.low, bars.close, 14)
    got = signal.indicators
    for name, reference in (("ema_fast", fast), ("ema_slow", slow), ("rsi", rsi), ("adx", adx)):
        assert _close_to(got[name], reference[i]), name
    # Why: EMA9 crossed above EMA21 on this bar, ADX above 25, RSI below 70.
    assert fast[i - 1] <= slow[i - 1]
    assert fast[i] > slow[i]
    assert adx[i] > 25
    assert rsi[i] < 70
    _check_exits(bars, i, signal)


def test_mean_reversion() -> None:
    bars, i, signal = _first("mean_reversion")
    assert (bars.candles[i].open_ts_ms, signal.side) == (1_748_862_000_000, Side.BUY)
    upper, middle, lower = talib.BBANDS(bars.close, 20, 2.0, 2.0)
    std = np.std(bars.close[i - 19 : i + 1])
    zscore = (bars.close[i] - middle[i]) / std
    for name, reference in (("bb_upper", upper), ("bb_middle", middle), ("bb_lower", lower)):
        assert _close_to(signal.indicators[name], reference[i]), name
    assert signal.indicators["zscore"] == pytest.approx(zscore, rel=1e-9)
    # Why: the close just went below -2.5 deviations, with bands over 1 % of the mean wide.
    previous = (bars.close[i - 1] - middle[i - 1]) / np.std(bars.close[i - 20 : i])
    assert zscore <= -2.5 < previous
    assert (upper[i] - lower[i]) / middle[i] >= 0.01
    _check_exits(bars, i, signal)


def test_supertrend() -> None:
    bars, i, signal = _first("supertrend")
    assert (bars.candles[i].open_ts_ms, signal.side) == (1_748_700_000_000, Side.BUY)
    line, trend = _naive_supertrend(bars, 10, 3.0)
    assert _close_to(signal.indicators["supertrend"], line[i])
    # Why: the first flip after the indicator's start, from down to up, on this bar.
    assert trend[i - 1] == -1
    assert trend[i] == 1
    assert (np.diff(trend[11:i]) == 0).all()
    _check_exits(bars, i, signal)


def test_sar_wave() -> None:
    bars, i, signal = _first("sar_wave")
    assert (bars.candles[i].open_ts_ms, signal.side) == (1_749_216_600_000, Side.BUY)
    sar = talib.SAR(bars.high, bars.low, 0.02, 0.2)
    assert _close_to(signal.indicators["sar"], sar[i])
    # Legs from TA-Lib's SAR: up while the SAR is under the bar. The signal bar starts an up leg.
    up = sar < bars.low
    flips = [k for k in range(2, i + 1) if up[k] != up[k - 1]]
    assert flips[-1] == i
    assert up[i]
    down_start, up_start, trough_start = flips[-2], flips[-3], flips[-4]
    trough = bars.low[trough_start : up_start + 1].min()
    peak = bars.high[up_start : down_start + 1].max()
    pullback = bars.low[down_start : i + 1].min()
    retrace = (peak - pullback) / (peak - trough)
    got = signal.indicators
    assert (got["wave_start"], got["wave_end"], got["pullback_end"]) == (trough, peak, pullback)
    assert got["retracement"] == pytest.approx(retrace, rel=1e-12)
    # Why: the pullback retraced near 61.8 % of a wave over 2 ATRs, in a market that was not flat.
    assert got["fib_level"] == 0.618
    assert 1 - abs(retrace - 0.618) / 0.1 >= 0.7
    atr = talib.ATR(bars.high, bars.low, bars.close, 14)[i]
    assert peak - trough >= 2 * atr
    closes = bars.close[i - 20 : i + 1]
    flat = 1 - abs(closes[-1] - closes[0]) / np.abs(np.diff(closes)).sum()
    assert got["flat_strength"] == pytest.approx(flat, rel=1e-9)
    assert flat < 0.6
    _check_exits(bars, i, signal)


def test_momentum_breakout() -> None:
    bars, i, signal = _first("momentum_breakout")
    assert (bars.candles[i].open_ts_ms, signal.side) == (1_748_793_900_000, Side.BUY)
    high = bars.high
    resistance = high[i - 100 : i].max()
    # Swing highs known by bar i: bars i-100 .. i-2 whose high is >= the one before, > the next.
    swings = [k for k in range(i - 100, i - 1) if high[k - 1] <= high[k] > high[k + 1]]
    touches = sum(1 for k in swings if resistance * 0.999 <= high[k] <= resistance)
    ratio = bars.volume[i] / bars.volume[i - 20 : i].mean()
    got = signal.indicators
    assert (got["level"], got["touches"]) == (resistance, touches)
    assert got["volume_ratio"] == pytest.approx(ratio, rel=1e-9)
    # Why: the close is 0.2 % over a resistance tested 3+ times, on 1.5x the average volume.
    assert bars.close[i] > resistance * 1.002
    assert touches >= 3
    assert ratio >= 1.5
    _check_exits(bars, i, signal)


def test_volume_profile() -> None:
    bars, i, signal = _first("volume_profile")
    assert (bars.candles[i].open_ts_ms, signal.side) == (1_748_988_000_000, Side.BUY)
    size = bars.close[0] * 0.002
    poc, vah, val, strength = _naive_profile(bars, i - 100, i, size)
    got = signal.indicators
    assert got["poc"] == pytest.approx(poc, rel=1e-12)
    assert got["vah"] == pytest.approx(vah, rel=1e-12)
    assert got["val"] == pytest.approx(val, rel=1e-12)
    assert got["poc_strength"] == pytest.approx(strength, rel=1e-9)
    # Why: the close crossed the value-area high of the 100 bars before, with a clear POC.
    assert bars.close[i - 1] <= vah < bars.close[i]
    assert strength >= 1.5
    _check_exits(bars, i, signal)


def _naive_supertrend(bars: Bars, period: int, multiplier: float) -> tuple[Floats, Floats]:
    # TradingView's ta.supertrend over TA-Lib's ATR, written out bar by bar.
    atr = talib.ATR(bars.high, bars.low, bars.close, period)
    hl2 = (bars.high + bars.low) / 2
    n = len(bars.close)
    line, trend = np.full(n, np.nan), np.zeros(n)
    upper = lower = 0.0
    for k in range(period, n):
        basic_upper, basic_lower = hl2[k] + multiplier * atr[k], hl2[k] - multiplier * atr[k]
        if k == period:
            upper, lower, trend[k] = basic_upper, basic_lower, -1
        else:
            prev_close = bars.close[k - 1]
            upper = basic_upper if basic_upper < upper or prev_close > upper else upper
            lower = basic_lower if basic_lower > lower or prev_close < lower else lower
            close = bars.close[k]
            trend[k] = trend[k - 1]
            if trend[k - 1] == -1 and close > upper:
                trend[k] = 1
            elif trend[k - 1] == 1 and close < lower:
                trend[k] = -1
        line[k] = lower if trend[k] == 1 else upper
    return line, trend


def _naive_profile(bars: Bars, start: int, end: int, size: float) -> tuple[float, ...]:
    # Spread each bar's volume evenly over the bins its range touches; grow the value area from
    # the POC by the larger neighbour (the upper one on a tie) until it holds 70 %.
    volumes: dict[int, float] = {}
    for k in range(start, end):
        first, last = math.floor(bars.low[k] / size), math.floor(bars.high[k] / size)
        for b in range(first, last + 1):
            volumes[b] = volumes.get(b, 0.0) + bars.volume[k] / (last - first + 1)
    total = sum(volumes.values())
    poc = max(sorted(volumes), key=lambda b: volumes[b])
    low = high = poc
    held = volumes[poc]
    lowest, highest = min(volumes), max(volumes)
    while held < 0.7 * total:
        below = volumes.get(low - 1, 0.0) if low > lowest else -1.0
        above = volumes.get(high + 1, 0.0) if high < highest else -1.0
        if above >= below:
            high += 1
            held += above
        else:
            low -= 1
            held += below
    strength = volumes[poc] / (total / len(volumes))
    return (poc + 0.5) * size, (high + 1) * size, low * size, strength
