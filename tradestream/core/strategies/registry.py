"""The candle strategies by ``kind``, and building one from a validated ``params`` mapping.

``config/strategies.yaml`` names a strategy by its kind and gives its settings as a flat mapping;
``build`` validates that mapping against the kind's frozen config (unknown keys and bad values
are refused with pydantic's message) before any bar is fed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradestream.core.strategies.mean_reversion import MeanReversion, MeanReversionConfig
from tradestream.core.strategies.momentum_breakout import (
    MomentumBreakout,
    MomentumBreakoutConfig,
)
from tradestream.core.strategies.sar_wave import SarWave, SarWaveConfig
from tradestream.core.strategies.strategy import CandleStrategyConfig, Strategy
from tradestream.core.strategies.supertrend import SuperTrendConfig, SuperTrendFlip
from tradestream.core.strategies.trend_following import TrendFollowing, TrendFollowingConfig
from tradestream.core.strategies.volume_profile import (
    VolumeProfileBreakout,
    VolumeProfileConfig,
)

# How to make a strategy from its name, symbol and a config of the kind's class.
Factory = Callable[[str, str, Any], Strategy]

STRATEGIES: Mapping[str, tuple[type[CandleStrategyConfig], Factory]] = {
    "momentum_breakout": (MomentumBreakoutConfig, MomentumBreakout),
    "trend_following": (TrendFollowingConfig, TrendFollowing),
    "mean_reversion": (MeanReversionConfig, MeanReversion),
    "sar_wave": (SarWaveConfig, SarWave),
    "supertrend": (SuperTrendConfig, SuperTrendFlip),
    "volume_profile": (VolumeProfileConfig, VolumeProfileBreakout),
}


def build(kind: str, name: str, symbol: str, params: Mapping[str, object]) -> Strategy:
    """Return a ``kind`` strategy for ``symbol`` with ``params`` over the kind's defaults.

    Raise ValueError for an unknown kind, and pydantic's ValidationError (a ValueError) for
    params the kind's config refuses.
    """
    try:
        config_class, factory = STRATEGIES[kind]
    except KeyError:
        raise ValueError(
            f"unknown strategy kind {kind!r}; known: {', '.join(sorted(STRATEGIES))}"
        ) from None
    return factory(name, symbol, config_class.model_validate(dict(params)))
