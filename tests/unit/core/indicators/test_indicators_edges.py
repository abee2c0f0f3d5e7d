"""Flat markets, empty volume, and arguments that cannot be right."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import pytest

from tradestream.core.candles import Candle
from tradestream.core.indicators import (
    Adx,
    Atr,
    Bollinger,
    CandleIndicator,
    CorrelationMatrix,
    Donchian,
    DonchianChannel,
    Ema,
    Macd,
    ParabolicSar,
    ReturnCorrelation,
    RollingCorrelation,
    RollingVwap,
    Rsi,
    SessionVwap,
    Sma,
    SuperTrend,
    Trend,
    VolumeProfile,
)

T = TypeVar("T")
PRICE = 0.19708  # not a binary fraction: a flat window must still come out exact


def flat(n: int, volume: float = 3.0) -> list[Candle]:
    return [Candle("X", 60, k * 60_000, PRICE, PRICE, PRICE, PRICE, volume) for k in range(n)]


def last(indicator: CandleIndicator[T], bars: list[Candle]) -> T:
    """Feed every bar; return the last value, which must be there."""
    for bar in bars:
        indicator.update_candle(bar)
    assert indicator.value is not None
    return indicator.value


def test_flat_prices_give_exact_flat_levels_and_no_spread() -> None:
    bars = flat(80)
    assert last(Sma(20), bars) == PRICE
    # The EMA is seeded with a plain running sum, as TA-Lib's: flat within an ulp, not exact.
    assert last(Ema(20), bars) == pytest.approx(PRICE, rel=1e-15)
    assert last(Atr(14), bars) == 0.0
    assert last(Donchian(20), bars) == DonchianChannel(PRICE, PRICE, PRICE)
    bands = last(Bollinger(20), bars)
    assert (bands.middle, bands.upper, bands.lower) == (PRICE, PRICE, PRICE)
    assert bands.std == 0.0
    assert bands.zscore == 0.0


def test_flat_prices_read_as_no_trend() -> None:
    bars = flat(80)
    assert last(Rsi(14), bars) == 50.0  # neutral, where TA-Lib says 0.0
    adx = last(Adx(14), bars)
    assert (adx.adx, adx.plus_di, adx.minus_di) == (0.0, 0.0, 0.0)
    macd = last(Macd(), bars)
    for part in (macd.line, macd.signal, macd.histogram):
        assert part == pytest.approx(0.0, abs=1e-15 * PRICE)
    assert last(ParabolicSar(), bars).sar == PRICE
    supertrend = last(SuperTrend(), bars)
    assert (supertrend.line, supertrend.trend) == (PRICE, Trend.DOWN)


def test_flat_prices_put_all_volume_at_one_price() -> None:
    bars = flat(80)
    assert last(SessionVwap(), bars) == PRICE
    assert last(RollingVwap(20), bars) == PRICE
    profile = VolumeProfile(20, 0.001)
    levels = last(profile, bars)
    assert (levels.val, levels.vah) == (0.197, 0.198)
    assert math.isclose(levels.poc, 0.1975)
    assert profile.volumes() == {0.197: 60.0}


def test_flat_window_after_a_move_has_exactly_zero_spread() -> None:
    # The shifted sums still hold the old level's deviations; the run-length check makes it exact.
    bollinger = Bollinger(5)
    for price in [1e5, 1.1e5, 0.9e5, 1.05e5, 1e5 + 0.1, 1e5 + 0.1, 1e5 + 0.1, 1e5 + 0.1]:
        bollinger.update(price)
    out = bollinger.update(1e5 + 0.1)
    assert out is not None
    assert (out.std, out.zscore, out.middle) == (0.0, 0.0, 1e5 + 0.1)


def test_correlation_with_a_constant_side_is_zero() -> None:
    both_flat = ReturnCorrelation(5)
    one_flat = RollingCorrelation(5)
    for k in range(12):
        both_flat.update(PRICE, 2.0)
        one_flat.update(float(k % 3), 7.0)
    assert both_flat.value == 0.0
    assert one_flat.value == 0.0


def test_correlation_of_moves_in_step_and_in_opposition() -> None:
    same, opposite = RollingCorrelation(6), RollingCorrelation(6)
    for k in range(20):
        x = float(k % 4)
        same.update(x, 3.0 * x + 1.0)
        opposite.update(x, -2.0 * x)
    assert same.value == pytest.approx(1.0, abs=1e-12)
    assert opposite.value == pytest.approx(-1.0, abs=1e-12)


def test_correlation_matrix_rows() -> None:
    matrix = CorrelationMatrix(["BTC", "ETH", "DOGE"], period=3)
    assert matrix.correlation("BTC", "ETH") is None
    for k in range(5):
        btc = 100.0 + k * k
        matrix.update({"BTC": btc, "ETH": btc / 20.0, "DOGE": 1.0 + (k % 2)})
    rows = matrix.matrix()
    assert rows["BTC"]["BTC"] == 1.0
    assert rows["BTC"]["ETH"] == rows["ETH"]["BTC"] == matrix.correlation("ETH", "BTC")
    assert rows["BTC"]["ETH"] == pytest.approx(1.0, abs=1e-12)
    assert rows["DOGE"]["BTC"] is not None
    with pytest.raises(KeyError, match="does not track"):
        matrix.correlation("BTC", "SOL")
    with pytest.raises(ValueError, match="lacks closes for"):
        matrix.update({"BTC": 1.0, "ETH": 1.0})


def test_bars_of_different_times_are_refused() -> None:
    a = Candle("A", 60, 0, 1.0, 1.0, 1.0, 1.0, 1.0)
    b = Candle("B", 60, 60_000, 1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="same time"):
        ReturnCorrelation(5).update_candles(a, b)
    with pytest.raises(ValueError, match="one time"):
        CorrelationMatrix(["A", "B"]).update_candles([a, b])


def test_no_volume_means_no_vwap_and_no_profile() -> None:
    bars = flat(30, volume=0.0)
    for indicator in (SessionVwap(), RollingVwap(10), VolumeProfile(10, 0.01)):
        assert all(indicator.update_candle(bar) is None for bar in bars)
        assert not indicator.ready


def test_session_vwap_restarts_at_each_session() -> None:
    vwap = SessionVwap(session_ms=3_600_000)
    assert vwap.update(10.0, 1.0, ts_ms=3_599_999) == 10.0
    assert vwap.update(20.0, 1.0, ts_ms=3_600_000) == 20.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Sma(0), "Sma period must be an integer >= 1, got 0"),
        (lambda: Ema(-3), "Ema period must be an integer >= 1, got -3"),
        (lambda: Rsi(0), "Rsi period must be an integer >= 1, got 0"),
        (lambda: Atr(-1), "Atr period must be an integer >= 1, got -1"),
        (lambda: Bollinger(1), "Bollinger period must be an integer >= 2, got 1"),
        (lambda: Bollinger(20, 0.0), "Bollinger k must be a finite number > 0, got 0.0"),
        (lambda: Adx(0), "Adx period must be an integer >= 1"),
        (lambda: Macd(26, 12), "Macd fast period must be below the slow one, got 26 >= 12"),
        (lambda: Macd(12, 26, 0), "Macd signal must be an integer >= 1"),
        (lambda: ParabolicSar(step=0.0), "ParabolicSar step must be a finite number > 0"),
        (lambda: ParabolicSar(start=0.3), "ParabolicSar start must not exceed maximum"),
        (lambda: SuperTrend(0), "SuperTrend period must be an integer >= 1"),
        (lambda: SuperTrend(10, math.nan), "SuperTrend multiplier must be a finite number > 0"),
        (lambda: Donchian(0), "Donchian period must be an integer >= 1"),
        (lambda: SessionVwap(0), "SessionVwap session_ms must be an integer >= 1"),
        (lambda: RollingVwap(0), "RollingVwap period must be an integer >= 1"),
        (lambda: VolumeProfile(0, 1.0), "VolumeProfile period must be an integer >= 1"),
        (lambda: VolumeProfile(10, -1.0), "VolumeProfile bin_size must be a finite number > 0"),
        (lambda: VolumeProfile(10, 1.0, 0.0), r"VolumeProfile value_area must be in \(0, 1\]"),
        (lambda: RollingCorrelation(1), "RollingCorrelation period must be an integer >= 2"),
        (lambda: ReturnCorrelation(1), "RollingCorrelation period must be an integer >= 2"),
        (lambda: CorrelationMatrix(["A"]), "two or more distinct symbols"),
        (lambda: CorrelationMatrix(["A", "A"]), "two or more distinct symbols"),
        (lambda: CorrelationMatrix(["A", "B"], 1), "CorrelationMatrix period must be"),
    ],
)
def test_invalid_arguments_are_refused_with_the_reason(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_fractional_period_is_refused() -> None:
    # Interpreted, check_period refuses it; compiled with mypyc, the typed call does.
    with pytest.raises((TypeError, ValueError), match=r"period must be an integer|int"):
        Rsi(2.5)  # type: ignore[arg-type]


def test_a_bar_with_high_below_low_is_refused_by_the_profile() -> None:
    with pytest.raises(ValueError, match="below its low"):
        VolumeProfile(5, 1.0).update(1.0, 2.0, 1.0)
