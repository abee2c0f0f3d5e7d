"""YAML configuration under ``config/``: symbols, strategies, risk, execution and protection.

Each file is validated into a frozen model at start; a bad file stops the process with the file
name and the offending field instead of surfacing later as a trading error. The risk file's model,
``RiskConfig``, lives beside the engine that enforces it (``core/risk/config.py``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tradestream.core.protection.config import ProtectionConfig
from tradestream.core.risk.config import RiskConfig
from tradestream.core.strategies.desk import check_params
from tradestream.exchange.execution_config import ExecutionConfig

_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}USDT$")


class ConfigFileError(ValueError):
    """Name the config file and field that failed validation."""


class SymbolConfig(BaseModel, frozen=True, extra="forbid"):
    """One traded instrument and the market data we subscribe to for it."""

    symbol: str
    book_depth: Literal[1, 50, 200, 1000] = 200
    enabled: bool = True

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        if not _SYMBOL.match(value):
            raise ValueError(f"{value!r} is not a USDT linear perpetual symbol like BTCUSDT")
        return value


class SymbolsConfig(BaseModel, frozen=True, extra="forbid"):
    """The symbol universe of a pipeline."""

    symbols: tuple[SymbolConfig, ...] = Field(min_length=1)

    @field_validator("symbols")
    @classmethod
    def _unique(cls, value: tuple[SymbolConfig, ...]) -> tuple[SymbolConfig, ...]:
        names = [s.symbol for s in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"symbols listed twice: {', '.join(duplicates)}")
        return value

    def enabled(self) -> tuple[str, ...]:
        """Return the names of the enabled symbols."""
        return tuple(s.symbol for s in self.symbols if s.enabled)


class StrategyKind(StrEnum):
    """The strategies the signal agent runs: the candle kinds of ``core.strategies.registry``
    and the order-book scalper (fed ``md.features``)."""

    MOMENTUM_BREAKOUT = "momentum_breakout"
    TREND_FOLLOWING = "trend_following"
    MEAN_REVERSION = "mean_reversion"
    SAR_WAVE = "sar_wave"
    SUPERTREND = "supertrend"
    VOLUME_PROFILE = "volume_profile"
    ORDER_BOOK_SCALPER = "order_book_scalper"


Params = dict[str, float | int | str | bool]


class StrategyConfig(BaseModel, frozen=True, extra="forbid"):
    """One configured strategy instance: run on each of ``symbols`` with ``params``.

    ``overrides`` replaces some params for one symbol (``{ETHUSDT: {stop_atr: 2.0}}``). Every
    symbol's params are checked against the kind's config here, so a typo stops the start.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")
    kind: StrategyKind
    symbols: tuple[str, ...] = Field(min_length=1)
    enabled: bool = True
    params: Params = Field(default_factory=dict)
    overrides: dict[str, Params] = Field(default_factory=dict)

    def params_for(self, symbol: str) -> Params:
        """Return the params of ``symbol``: ``params`` with its overrides on top."""
        return {**self.params, **self.overrides.get(symbol, {})}

    @model_validator(mode="after")
    def _check_params(self) -> Self:
        strays = sorted(set(self.overrides) - set(self.symbols))
        if strays:
            raise ValueError(f"overrides for symbols not listed: {', '.join(strays)}")
        for symbol in self.symbols:
            check_params(self.kind.value, self.name, symbol, self.params_for(symbol))
        return self


class StrategiesConfig(BaseModel, frozen=True, extra="forbid"):
    """All configured strategies; names are unique because order ids derive from them."""

    strategies: tuple[StrategyConfig, ...] = ()

    @field_validator("strategies")
    @classmethod
    def _unique(cls, value: tuple[StrategyConfig, ...]) -> tuple[StrategyConfig, ...]:
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError("strategy names must be unique")
        return value

    def instances(self) -> list[tuple[str, str, str, Params]]:
        """Return (kind, name, symbol, params) of every enabled strategy on each of its symbols."""
        return [
            (s.kind.value, s.name, symbol, s.params_for(symbol))
            for s in self.strategies
            if s.enabled
            for symbol in s.symbols
        ]


M = TypeVar("M", bound=BaseModel)


def load_yaml(path: Path, model: type[M]) -> M:
    """Read ``path`` and validate it as ``model``, naming the file in every error."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigFileError(f"{path}: {details}") from exc


def _optional(path: Path, model: type[M]) -> M:
    """Read ``path`` like ``load_yaml``, or return the model's defaults when there is no file."""
    return load_yaml(path, model) if path.exists() else model()


class PipelineConfig(BaseModel, frozen=True, extra="forbid"):
    """Everything under ``config/``, validated together at start."""

    symbols: SymbolsConfig
    strategies: StrategiesConfig
    risk: RiskConfig
    execution: ExecutionConfig = ExecutionConfig()
    protection: ProtectionConfig = ProtectionConfig()

    @classmethod
    def load(cls, config_dir: Path) -> PipelineConfig:
        """Load and validate the three files of ``config_dir``."""
        return cls(
            symbols=load_yaml(config_dir / "symbols.yaml", SymbolsConfig),
            strategies=load_yaml(config_dir / "strategies.yaml", StrategiesConfig),
            risk=load_yaml(config_dir / "risk.yaml", RiskConfig),
            execution=_optional(config_dir / "execution.yaml", ExecutionConfig),
            protection=_optional(config_dir / "protection.yaml", ProtectionConfig),
        )
