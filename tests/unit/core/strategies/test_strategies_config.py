"""Configs refuse what cannot work; strategies refuse bars that are not theirs."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from tests.unit.core.strategies.recorded import bars_for, fresh
from tradestream.core.strategies import (
    STRATEGIES,
    MeanReversionConfig,
    SarWaveConfig,
    TrendFollowing,
    TrendFollowingConfig,
    build,
)

KINDS = sorted(STRATEGIES)
SPEC_INTERVALS_S = {
    "momentum_breakout": 300,
    "trend_following": 900,
    "mean_reversion": 3_600,
    "sar_wave": 900,
    "supertrend": 1_800,
    "volume_profile": 3_600,
}


@pytest.mark.parametrize("kind", KINDS)
def test_defaults_are_the_product_spec(kind: str) -> None:
    config_class, _ = STRATEGIES[kind]
    config = config_class()
    assert config.stop_atr == 1.5
    assert config.take_atr == 3.0
    assert fresh(kind).interval_s == SPEC_INTERVALS_S[kind]


def test_spec_values() -> None:
    trend = TrendFollowingConfig()
    assert (trend.fast_period, trend.slow_period, trend.rsi_period) == (9, 21, 14)
    assert (trend.adx_min, trend.rsi_overbought, trend.rsi_oversold) == (25, 70, 30)
    sar = SarWaveConfig()
    assert (sar.sar_start, sar.sar_step, sar.sar_maximum) == (0.02, 0.02, 0.2)
    assert (sar.min_flat_strength, sar.fib_min, sar.fib_max, sar.min_confidence) == (
        0.6,
        0.236,
        0.786,
        0.7,
    )
    mean = MeanReversionConfig()
    assert (mean.period, mean.k, mean.zscore, mean.min_volatility) == (20, 2.0, 2.5, 0.01)


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("trend_following", {"fast_period": 21, "slow_period": 9}, "fast_period"),
        ("trend_following", {"rsi_overbought": 20}, "rsi_oversold"),
        ("trend_following", {"adx_min": -1}, "adx_min"),
        ("mean_reversion", {"zscore": 5.0}, "sqrt"),
        ("mean_reversion", {"interval_s": 120}, "interval_s"),
        ("momentum_breakout", {"lookback": 1}, "lookback"),
        ("momentum_breakout", {"volume_multiplier": 0}, "volume_multiplier"),
        ("sar_wave", {"sar_start": 0.3}, "sar_start"),
        ("sar_wave", {"fib_min": 0.8}, "fib_min"),
        ("supertrend", {"multiplier": 0}, "multiplier"),
        ("volume_profile", {"value_area": 1.5}, "value_area"),
        ("volume_profile", {"unknown": 1}, "unknown"),
        ("supertrend", {"stop_atr": -1}, "stop_atr"),
    ],
)
def test_bad_params_are_refused(kind: str, params: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        build(kind, "x", "BTCUSDT", params)


def test_params_override_defaults() -> None:
    strategy = build("trend_following", "tf", "ETHUSDT", {"adx_min": 20, "interval_s": 300})
    assert isinstance(strategy, TrendFollowing)
    assert strategy.config.adx_min == 20
    assert strategy.interval_s == 300
    assert strategy.symbol == "ETHUSDT"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy kind 'scalper'"):
        build("scalper", "x", "BTCUSDT", {})


@pytest.mark.parametrize("name", ["", "has space", "x" * 50])
def test_names_that_make_bad_ids_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="strategy name"):
        build("supertrend", name, "BTCUSDT", {})


@pytest.mark.parametrize("kind", KINDS)
def test_bars_of_another_symbol_interval_or_time_are_refused(kind: str) -> None:
    strategy = fresh(kind)
    bar = bars_for(kind).candles[0]
    with pytest.raises(ValueError, match="takes BTCUSDT"):
        strategy.on_candle(dataclasses.replace(bar, symbol="ETHUSDT"))
    with pytest.raises(ValueError, match="takes BTCUSDT"):
        strategy.on_candle(dataclasses.replace(bar, interval_s=60))
    strategy.on_candle(bar)
    with pytest.raises(ValueError, match="time order"):
        strategy.on_candle(bar)
