"""FeatureConfig validation and the feature schema that follows from it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tradestream.core.features import (
    FEATURE_NAMES,
    FEATURE_SPECS,
    FeatureConfig,
    FeatureEngine,
    feature_specs,
    render_markdown,
)
from tradestream.core.features.registry import notional_suffix, window_suffix


def test_default_schema_is_large_unique_and_documented() -> None:
    assert len(FEATURE_NAMES) >= 50
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert FeatureEngine().names == FEATURE_NAMES
    for spec in FEATURE_SPECS:
        assert spec.formula.strip(), spec.name
        assert spec.units.strip(), spec.name
        assert spec.when_undefined.strip(), spec.name


def test_markdown_lists_every_feature_in_order() -> None:
    table = render_markdown(FEATURE_SPECS).splitlines()
    assert len(table) == 2 + len(FEATURE_SPECS)
    for row, name in zip(table[2:], FEATURE_NAMES, strict=True):
        assert f"`{name}`" in row


def test_names_follow_the_config() -> None:
    config = FeatureConfig(
        imbalance_levels=(3,),
        impact_notionals=(2_500, 1_000_000),
        trade_windows_ms=(250, 120_000, 900_000),
    )
    names = [spec.name for spec in feature_specs(config)]
    assert "imbalance_3" in names
    assert "imbalance_5" not in names
    assert {"buy_impact_bps_2500", "sell_impact_bps_1m"} <= set(names)
    assert {"trade_rate_250ms", "trade_rate_120s", "trade_rate_15m"} <= set(names)


@pytest.mark.parametrize(
    ("value", "suffix"),
    [(1_000, "1s"), (250, "250ms"), (60_000, "60s"), (600_000, "10m"), (1_500, "1500ms")],
)
def test_window_suffix(value: int, suffix: str) -> None:
    assert window_suffix(value) == suffix


@pytest.mark.parametrize(
    ("value", "suffix"), [(10_000, "10k"), (2_000_000, "2m"), (750, "750"), (1_500_000, "1500k")]
)
def test_notional_suffix(value: int, suffix: str) -> None:
    assert notional_suffix(value) == suffix


@pytest.mark.parametrize(
    "change",
    [
        {"imbalance_levels": (5, 1)},
        {"trade_windows_ms": (1_000, 1_000)},
        {"ofi_windows_ms": (0,)},
        {"impact_notionals": (0,)},
        {"depth_levels": (30,)},
        {"levels": 5},
        {"slope_levels": 0},
        {"roc_horizons_ms": (50_000_000,)},
        {"volatility_windows_ms": (86_400_001,)},
        {"unknown": 1},
    ],
)
def test_rejects_invalid_configs(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FeatureConfig(**change)


def test_config_is_frozen() -> None:
    config = FeatureConfig()
    with pytest.raises(ValidationError):
        config.levels = 10  # type: ignore[misc]


def test_empty_windows_drop_their_features() -> None:
    config = FeatureConfig(
        ofi_windows_ms=(),
        activity_windows_ms=(),
        volatility_windows_ms=(),
        roc_horizons_ms=(),
        trade_windows_ms=(),
    )
    engine = FeatureEngine(config)
    engine.on_book(0, [100.0], [1.0], [101.0], [1.0])
    engine.on_trade(1, 100.5, 1.0, True)
    names = engine.as_dict().keys()
    assert not any(name.startswith(("trade_rate", "realized_vol", "mid_roc")) for name in names)
    assert "ofi_1" in names
