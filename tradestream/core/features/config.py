"""Configuration of the feature vector: which depths, notionals and windows it covers.

The feature names follow from the configuration (``imbalance_5``, ``trade_rate_10s``...), so a
changed config is a changed ``md.features`` schema: keep one config per deployment.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

# One day: longer windows would only hold stale state and grow the ring buffers without bound.
MAX_WINDOW_MS = 86_400_000
# Bybit's deepest linear book stream is 1000 levels; feature code reads far fewer.
MAX_LEVELS = 1_000

Depth = Annotated[int, Field(ge=1, le=MAX_LEVELS)]
WindowMs = Annotated[int, Field(ge=1, le=MAX_WINDOW_MS)]
Notional = Annotated[int, Field(ge=1)]


def _strictly_increasing(values: tuple[int, ...]) -> tuple[int, ...]:
    # Sorted, duplicate-free tuples give stable feature order and unique names.
    if any(b <= a for a, b in pairwise(values)):
        raise ValueError(f"must be strictly increasing, got {values}")
    return values


class FeatureConfig(BaseModel, frozen=True, extra="forbid"):
    """Choose the depths, fill notionals and time windows that the feature vector covers.

    Depths count price levels from the best one (1 = top of book); windows are trailing time
    windows in milliseconds of event time, ``(now - window, now]``; notionals are in quote
    currency (USDT). Every tuple must be strictly increasing so that names are unique and ordered.

    Attributes:
        levels: levels per side read from each book update (deeper ones passed in are ignored);
            also the depth of the level-age and add/cancel features.
        imbalance_levels: depths of the size imbalance features.
        depth_levels: depths of the cumulative size and notional features.
        slope_levels: depth at which the book slope is measured.
        impact_notionals: quote notionals for which the cost of a market fill is estimated.
        ofi_levels: depths of the order-flow imbalance (levels 1..k summed).
        ofi_windows_ms: windows of the rolling OFI sums.
        trade_windows_ms: windows of the trade-flow features.
        volatility_windows_ms: windows of the mid log-return statistics.
        roc_horizons_ms: horizons of the rate-of-change and acceleration features.
        activity_windows_ms: windows of the add/cancel rates.
    """

    levels: Depth = 20
    imbalance_levels: tuple[Depth, ...] = (1, 5, 10, 20)
    depth_levels: tuple[Depth, ...] = (5, 10, 20)
    slope_levels: Depth = 10
    impact_notionals: tuple[Notional, ...] = (10_000, 100_000)
    ofi_levels: tuple[Depth, ...] = (1, 5, 10)
    ofi_windows_ms: tuple[WindowMs, ...] = (1_000, 10_000)
    trade_windows_ms: tuple[WindowMs, ...] = (1_000, 10_000, 60_000)
    volatility_windows_ms: tuple[WindowMs, ...] = (10_000, 60_000)
    roc_horizons_ms: tuple[WindowMs, ...] = (1_000, 10_000)
    activity_windows_ms: tuple[WindowMs, ...] = (10_000,)

    @field_validator(
        "imbalance_levels",
        "depth_levels",
        "impact_notionals",
        "ofi_levels",
        "ofi_windows_ms",
        "trade_windows_ms",
        "volatility_windows_ms",
        "roc_horizons_ms",
        "activity_windows_ms",
    )
    @classmethod
    def _check_increasing(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        return _strictly_increasing(values)

    @field_validator("roc_horizons_ms")
    @classmethod
    def _check_roc_horizon(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        # Acceleration looks back two horizons, which must still fit the window limit.
        if values and 2 * values[-1] > MAX_WINDOW_MS:
            raise ValueError(f"roc horizons must be at most {MAX_WINDOW_MS // 2} ms")
        return values

    @model_validator(mode="after")
    def _check_depths_within_levels(self) -> FeatureConfig:
        deepest = max(
            (*self.imbalance_levels, *self.depth_levels, *self.ofi_levels, self.slope_levels)
        )
        if deepest > self.levels:
            raise ValueError(f"a feature reads {deepest} levels but levels={self.levels}")
        return self

    @property
    def checkpoint_levels(self) -> tuple[int, ...]:
        """Return every depth at which cumulative book sums are needed, in increasing order."""
        return tuple(sorted({*self.imbalance_levels, *self.depth_levels, self.slope_levels}))
