"""Protection configuration: the product's defaults, the project file, overrides, bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.core.protection.factories import D
from tradestream.config.files import ConfigFileError, load_yaml
from tradestream.core.protection import PriceKind, ProtectionConfig, ProtectionRule, StaleAction

ROOT = Path(__file__).resolve().parents[4]
R = ProtectionRule


def test_defaults_are_the_product_spec() -> None:
    config = ProtectionConfig()

    assert [config.priorities[r] for r in (R.TRAILING_STOP, R.TAKE_PROFIT, R.STOP_LOSS)] == [
        10,
        20,
        30,
    ]
    assert (config.priorities[R.AGED_POSITION], config.priorities[R.TIME_STOP]) == (40, 50)
    trailing = config.trailing
    assert (trailing.activation_profit, trailing.callback) == (D("0.015"), D("0.005"))
    assert [(s.profit, s.distance) for s in trailing.ladder] == [
        (D("0.02"), D("0.01")),
        (D("0.05"), D("0.015")),
        (D("0.10"), D("0.02")),
    ]
    assert config.breakeven.trigger_profit == D("0.005")
    aged = config.aged
    assert (aged.max_age_hours, aged.grace_hours, aged.emergency_after_hours) == (
        D(3),
        D(8),
        D(28),
    )
    assert (aged.loss_step_per_hour, aged.acceleration_factor, aged.max_loss) == (
        D("0.005"),
        D("1.2"),
        D("0.10"),
    )
    assert (aged.taker_fee, aged.detection_interval_s) == (D("0.00055"), 3600)
    assert config.staleness.for_rule(R.AGED_POSITION).critical_s == 300
    assert config.closing.retry_delays_s == (1, 3, 5)


def test_the_project_file_loads_with_the_defaults_and_its_override() -> None:
    config = load_yaml(ROOT / "config" / "protection.yaml", ProtectionConfig)

    assert config.model_dump(exclude={"symbols"}) == ProtectionConfig().model_dump(
        exclude={"symbols"}
    )
    assert config.for_symbol("DOGEUSDT").trailing.callback == D("0.008")
    assert config.for_symbol("BTCUSDT") is config


def test_an_override_changes_only_what_it_names() -> None:
    config = ProtectionConfig.model_validate(
        {"symbols": {"SOLUSDT": {"aged": {"max_age_hours": "6"}, "priorities": {"time_stop": 1}}}}
    )

    sol = config.for_symbol("SOLUSDT")

    assert (sol.aged.max_age_hours, sol.aged.grace_hours) == (D(6), D(8))
    assert (sol.priorities[R.TIME_STOP], sol.priorities[R.TRAILING_STOP]) == (1, 10)
    assert config.aged.max_age_hours == 3


def test_yaml_spellings_become_enums() -> None:
    config = ProtectionConfig.model_validate(
        {"price_kinds": ["mark"], "staleness": {"emergency_action": "close_at_market"}}
    )

    assert config.price_kinds == {PriceKind.MARK}
    assert config.staleness.emergency_action is StaleAction.CLOSE_AT_MARKET


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"trailing": {"callback": "0.02"}}, "callback must be below activation_profit"),
        (
            {
                "trailing": {
                    "ladder": [
                        {"profit": "0.05", "distance": "0.01"},
                        {"profit": "0.02", "distance": "0.02"},
                    ]
                }
            },
            "increasing profits",
        ),
        (
            {
                "take_profit": {
                    "partials": [
                        {"profit": "0.03", "fraction": "0.5"},
                        {"profit": "0.02", "fraction": "0.5"},
                    ]
                }
            },
            "strictly increasing",
        ),
        ({"take_profit": {"distance": "0.01"}}, "before the final one"),
        ({"breakeven": {"offset": "0.006"}}, "below its trigger"),
        ({"aged": {"emergency_after_hours": "8"}}, "after the grace period"),
        ({"aged": {"acceleration_factor": "0.5"}}, "greater than or equal to 1"),
        ({"priorities": {"kill_switch": 1}}, "overrides every rule"),
        ({"priorities": {"stop_loss": 0}}, "greater than 0"),
        ({"staleness": {"emergency_after_s": 10}}, "after the alert's critical_s"),
        ({"staleness": {"alert": {"degraded_s": 30, "critical_s": 10}}}, "greater than degraded_s"),
        ({"closing": {"retry_delays_s": []}}, "at least 1 item"),
        ({"price_kinds": []}, "at least 1 item"),
        ({"stop_loss": {"distance": "1"}}, "less than 1"),
        ({"symbols": {"DOGE": {}}}, "pattern"),
        ({"symbols": {"DOGEUSDT": {"trailing": {"callback": "0.9"}}}}, "override of DOGEUSDT"),
        ({"symbols": {"DOGEUSDT": {"symbols": {}}}}, "cannot hold overrides"),
        ({"trailing_stop": {}}, "Extra inputs"),
    ],
)
def test_a_contradictory_or_unknown_setting_is_refused(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        ProtectionConfig.model_validate(change)


def test_a_bad_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "protection.yaml"
    path.write_text("trailing:\n  callback: '0.5'\n", encoding="utf-8")

    with pytest.raises(ConfigFileError, match=r"protection\.yaml: trailing"):
        load_yaml(path, ProtectionConfig)
