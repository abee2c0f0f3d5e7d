"""Risk configuration: the product's defaults, and files whose limits contradict are refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tradestream.config.files import ConfigFileError, load_yaml
from tradestream.core.risk import RiskConfig, SizingMode

ROOT = Path(__file__).resolve().parents[4]


def test_defaults_are_the_product_spec() -> None:
    config = RiskConfig()

    assert (config.max_open_positions, config.max_positions_per_symbol) == (10, 1)
    assert (config.risk_per_trade, config.max_total_risk) == (Decimal("0.02"), Decimal("0.10"))
    assert config.max_daily_loss == Decimal("0.05")
    assert (config.max_correlated_positions, config.correlation_threshold) == (3, 0.7)
    assert config.symbol_groups == {
        "majors": ("BTCUSDT", "ETHUSDT"),
        "layer1": ("SOLUSDT", "AVAXUSDT", "NEARUSDT"),
    }
    assert config.sizing.mode is SizingMode.FIXED_NOTIONAL
    assert config.groups_of("ETHUSDT") == ("majors",)
    assert config.groups_of("DOGEUSDT") == ()


def test_the_project_file_loads() -> None:
    config = load_yaml(ROOT / "config" / "risk.yaml", RiskConfig)

    assert config.max_daily_loss_usdt == Decimal(500)
    assert config.sizing.fixed_notional_usdt == Decimal(100)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"risk_per_trade": "0.2"}, "exceeds max_total_risk"),
        ({"max_position_notional_usdt": "30000"}, "exceeds max_gross_notional_usdt"),
        ({"sizing": {"fixed_notional_usdt": "6000"}}, "every trade would be refused"),
        ({"symbol_groups": {"solo": ["BTCUSDT"]}}, "two or more distinct"),
        ({"symbol_groups": {"dup": ["BTCUSDT", "BTCUSDT"]}}, "two or more distinct"),
        ({"symbol_groups": {"Majors": ["BTCUSDT", "ETHUSDT"]}}, "pattern"),
        ({"symbol_groups": {"x": ["BTC", "ETHUSDT"]}}, "pattern"),
        ({"max_daily_loss": "1.5"}, "less than or equal to 1"),
        ({"max_drawdown": "0"}, "greater than 0"),
        ({"daily_reset_hour_utc": 24}, "less than or equal to 23"),
        ({"max_leverage": "101"}, "less than or equal to 100"),
        ({"correlation_threshold": 0}, "greater than 0"),
        ({"sizing": {"mode": "martingale"}}, "fixed_notional"),
        ({"max_open_positions": 0}, "greater than 0"),
        ({"unknown_limit": 1}, "Extra inputs"),
    ],
)
def test_contradicting_or_bad_limits_are_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        RiskConfig.model_validate(change)


def test_a_bad_file_names_itself_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "risk.yaml"
    path.write_text("max_leverage: 0\n")

    with pytest.raises(ConfigFileError, match=r"risk\.yaml: max_leverage"):
        load_yaml(path, RiskConfig)
