"""Settings from the environment and the YAML files under config/."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tradestream.config.files import ConfigFileError, PipelineConfig, SymbolsConfig, load_yaml
from tradestream.config.settings import TRADING_PARTS, Settings
from tradestream.exchange.execution_config import ExecutionConfig

ROOT = Path(__file__).resolve().parents[3]


def test_environment_is_parsed_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADESTREAM_KAFKA_BOOTSTRAP", "10.0.0.1:9092")
    monkeypatch.setenv("TRADESTREAM_PARTITIONS", "16")
    monkeypatch.setenv("TRADESTREAM_NAMESPACE", "abc")
    settings = Settings()
    assert settings.kafka_bootstrap == "10.0.0.1:9092"
    assert settings.partitions == 16
    assert settings.scoped("md.book.top") == "abc.md.book.top"
    assert settings.group_id == "abc.tradestream"
    assert settings.clickhouse_db == "abc_tradestream"
    assert settings.dlq_stream == "abc:tradestream:dlq"


def test_settings_are_frozen_and_hide_secrets() -> None:
    settings = Settings(postgres_dsn="postgresql://u:hunter2@h/db")
    with pytest.raises(ValidationError):
        settings.partitions = 3  # type: ignore[misc]
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize("namespace", ["Bad", "1abc", "a-b", "x" * 40])
def test_bad_namespace_is_rejected(namespace: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        Settings(namespace=namespace)


def test_project_config_files_are_valid() -> None:
    config = PipelineConfig.load(ROOT / "config")
    assert "BTCUSDT" in config.symbols.enabled()
    assert config.risk.max_leverage >= 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("symbols: []", "symbols"),
        ("symbols: [{symbol: btc}]", "USDT linear perpetual"),
        ("symbols: [{symbol: BTCUSDT, book_depth: 7}]", "book_depth"),
        ("symbols: [{symbol: BTCUSDT}, {symbol: BTCUSDT}]", "listed twice"),
        ("symbols: [{symbol: BTCUSDT, colour: red}]", "colour"),
        ("symbols: [", "not valid YAML"),
    ],
)
def test_invalid_symbol_files_name_file_and_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "symbols.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=r"symbols\.yaml") as info:
        load_yaml(path, SymbolsConfig)
    assert fragment in str(info.value)


def test_execution_file_is_optional_and_validated(tmp_path: Path) -> None:
    for name in ("symbols.yaml", "strategies.yaml", "risk.yaml"):
        (tmp_path / name).write_text((ROOT / "config" / name).read_text())
    assert PipelineConfig.load(tmp_path).execution == ExecutionConfig()
    (tmp_path / "execution.yaml").write_text(
        "rate_limits: {order_create: {rate_per_s: 40, burst: 40}}"
    )
    assert PipelineConfig.load(tmp_path).execution.rate_limits.order_create.rate_per_s == 40
    (tmp_path / "execution.yaml").write_text("gateway: {duplicate_wait_s: 0}")
    with pytest.raises(ConfigFileError, match=r"execution\.yaml: gateway\.duplicate_wait_s"):
        PipelineConfig.load(tmp_path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="file not found"):
        PipelineConfig.load(tmp_path)


@pytest.mark.parametrize(
    ("roles", "parsed", "faust_app"),
    [
        ("market,sinks", ("market", "sinks"), "tradestream"),
        ("sinks", ("sinks",), "tradestream"),
        ("market", ("market",), "tradestream.status"),
        ("trading", ("trading",), "tradestream.trading"),
        ("execution", ("execution",), "tradestream.trading-execution"),
        ("risk,positions", ("risk", "positions"), "tradestream.trading-positions-risk"),
    ],
)
def test_roles_decide_the_faust_group(
    monkeypatch: pytest.MonkeyPatch, roles: str, parsed: tuple[str, ...], faust_app: str
) -> None:
    monkeypatch.setenv("TRADESTREAM_ROLES", roles)
    settings = Settings()
    assert settings.roles == parsed
    assert settings.faust_app_id == faust_app
    assert settings.market_group_id == "tradestream.market"


@pytest.mark.parametrize(
    "roles", ["market,trading", "sinks,execution", "trading,risk", "market,bogus"]
)
def test_roles_that_cannot_share_a_worker_are_refused(
    monkeypatch: pytest.MonkeyPatch, roles: str
) -> None:
    monkeypatch.setenv("TRADESTREAM_ROLES", roles)
    with pytest.raises(ValidationError):
        Settings()


def test_the_trading_role_is_every_trading_part(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADESTREAM_ROLES", "trading")
    assert Settings().trading_parts == frozenset(TRADING_PARTS)
    monkeypatch.setenv("TRADESTREAM_ROLES", "execution")
    assert Settings().trading_parts == {"execution"}
