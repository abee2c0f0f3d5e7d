"""Each indicator TA-Lib has, against TA-Lib, on every bar of the recorded klines.

Ours is seeded as TA-Lib is (simple-average seeds, same first bar), so there is no warm-up to
guess: the warm-up skipped is exactly TA-Lib's lookback (its NaN prefix), and ours must be None on
exactly those bars and within 1e-9 relative on all the 43,200 - lookback others. TA-Lib's unstable
period is 0 (its default), so its RSI/ATR/ADX start from the same seed as ours.
"""

from __future__ import annotations

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
    Adx,
    Atr,
    Bollinger,
    CandleIndicator,
    Donchian,
    Ema,
    Macd,
    ParabolicSar,
    ReturnCorrelation,
    RollingCorrelation,
    Rsi,
    Sma,
)


@pytest.fixture(params=SYMBOLS, scope="module")
def bars(request: pytest.FixtureRequest) -> Bars:
    return recorded(request.param)


def fed(indicator: CandleIndicator[float], bars: Bars) -> list[float | None]:
    """Feed every candle; return what each update returned."""
    return [indicator.update_candle(candle) for candle in bars.candles]


@pytest.mark.parametrize("period", [1, 20, 200])
def test_sma(bars: Bars, period: int) -> None:
    assert_agrees("SMA", fed(Sma(period), bars), talib.SMA(bars.close, period))


@pytest.mark.parametrize("period", [1, 20, 200])
def test_ema(bars: Bars, period: int) -> None:
    assert_agrees("EMA", fed(Ema(period), bars), talib.EMA(bars.close, period))


@pytest.mark.parametrize("period", [2, 14])
def test_rsi(bars: Bars, period: int) -> None:
    ref = talib.RSI(bars.close, period)
    assert_agrees("RSI", fed(Rsi(period), bars), ref, floor=100.0)


@pytest.mark.parametrize("period", [1, 14])
def test_atr(bars: Bars, period: int) -> None:
    ref = talib.ATR(bars.high, bars.low, bars.close, period)
    assert_agrees("ATR", fed(Atr(period), bars), ref)


@pytest.mark.parametrize(("period", "k"), [(20, 2.0), (50, 1.5)])
def test_bollinger_bands(bars: Bars, period: int, k: float) -> None:
    upper, middle, lower = talib.BBANDS(bars.close, period, k, k)  # matype SMA
    indicator = Bollinger(period, k)
    out = [indicator.update_candle(c) for c in bars.candles]
    assert_agrees("BBANDS middle", field(out, "middle"), middle)
    assert_agrees("BBANDS upper", field(out, "upper"), upper)
    assert_agrees("BBANDS lower", field(out, "lower"), lower)


@pytest.mark.parametrize("period", [14, 30])
def test_adx_and_directional_indicators(bars: Bars, period: int) -> None:
    high, low, close = bars.high, bars.low, bars.close
    adx = Adx(period)
    values, plus, minus = [], [], []
    for candle in bars.candles:
        values.append(adx.update_candle(candle))
        plus.append(adx.plus_di)
        minus.append(adx.minus_di)
    assert_agrees("ADX", field(values, "adx"), talib.ADX(high, low, close, period), floor=100.0)
    assert_agrees("PLUS_DI", plus, talib.PLUS_DI(high, low, close, period), floor=100.0)
    assert_agrees("MINUS_DI", minus, talib.MINUS_DI(high, low, close, period), floor=100.0)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5)])
def test_macd(bars: Bars, fast: int, slow: int, signal: int) -> None:
    line, signal_line, histogram = talib.MACD(bars.close, fast, slow, signal)
    macd = Macd(fast, slow, signal)
    out = [macd.update_candle(c) for c in bars.candles]
    # MACD crosses zero; its scale is a fraction of the price.
    floor = 1e-4 * float(np.median(bars.close))
    assert_agrees("MACD line", field(out, "line"), line, floor)
    assert_agrees("MACD signal", field(out, "signal"), signal_line, floor)
    assert_agrees("MACD histogram", field(out, "histogram"), histogram, floor)


def test_parabolic_sar(bars: Bars) -> None:
    sar = ParabolicSar(start=0.02, step=0.02, maximum=0.2)
    out = [sar.update_candle(c) for c in bars.candles]
    assert_agrees("SAR", field(out, "sar"), talib.SAR(bars.high, bars.low, 0.02, 0.2))


def test_parabolic_sar_trend_is_the_side_of_the_stop(bars: Bars) -> None:
    sar = ParabolicSar()
    for candle in bars.candles:
        point = sar.update_candle(candle)
        if point is not None:
            below = point.sar <= candle.low
            above = point.sar >= candle.high
            assert below if point.trend > 0 else above


@pytest.mark.parametrize("period", [2, 20, 55])
def test_donchian(bars: Bars, period: int) -> None:
    donchian = Donchian(period)
    out = [donchian.update_candle(c) for c in bars.candles]
    upper, lower = talib.MAX(bars.high, period), talib.MIN(bars.low, period)
    assert_agrees("MAX", field(out, "upper"), upper)
    assert_agrees("MIN", field(out, "lower"), lower)
    assert_agrees("middle", field(out, "middle"), (upper + lower) / 2.0)


def aligned(a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the two symbols' closes on the minutes both have, in order."""
    x, y = recorded(a), recorded(b)
    common, ix, iy = np.intersect1d(x.open_ts_ms, y.open_ts_ms, return_indices=True)
    assert len(common) > 43_000
    return x.close[ix], y.close[iy]


@pytest.mark.parametrize("pair", [("BTCUSDT", "DOGEUSDT"), ("ETHUSDT", "SOLUSDT")])
@pytest.mark.parametrize("period", [30, 240])
def test_return_correlation(pair: tuple[str, str], period: int) -> None:
    x, y = aligned(*pair)
    returns_x = np.concatenate(([np.nan], x[1:] / x[:-1] - 1.0))
    returns_y = np.concatenate(([np.nan], y[1:] / y[:-1] - 1.0))
    correlation = ReturnCorrelation(period)
    ours = [correlation.update(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    assert_agrees("CORREL", ours, talib.CORREL(returns_x, returns_y, period), floor=1.0)


def test_rolling_correlation_of_prices() -> None:
    # Prices, unlike returns, sit far from zero: the shifted sums keep CORREL's precision.
    x, y = aligned("BTCUSDT", "ETHUSDT")
    correlation = RollingCorrelation(60)
    ours = [correlation.update(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    assert_agrees("CORREL", ours, talib.CORREL(x, y, 60), floor=1.0)
