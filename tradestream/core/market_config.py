"""What the market agent computes and how often it publishes: ``MarketConfig``.

Kept apart from ``market.py`` so that the per-message path compiles with mypyc (which does not
compile modules defining pydantic models); ``market.py`` re-exports it.
"""

from __future__ import annotations

from pydantic import BaseModel, NonNegativeInt, PositiveInt, field_validator

from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.candles.rollup import DAY_S
from tradestream.core.features import FeatureConfig


class MarketConfig(BaseModel, frozen=True, extra="forbid"):
    """What the market agent computes and how often it publishes features."""

    features: FeatureConfig = FeatureConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    features_interval_ms: NonNegativeInt = 100
    """Publish a symbol's features at most this often (0 = after every input event)."""
    stale_after_ms: PositiveInt = 5000
    """Report a book as ``stale`` when no frame arrived for this long (Bybit pushes
    depth-200 books every 100 ms, so seconds of silence mean the stream, not the market)."""
    resync_retry_ms: PositiveInt = 5000
    """Ask again for a resync this long after the last request if the book is still unrepaired.

    A request can be lost (ingest not yet listening, restarting, or the socket between its
    unsubscribe and subscribe); asking only once would leave the book invalid for good."""
    candle_intervals_s: tuple[PositiveInt, ...] = (1, 5, 60)
    """Bars built from each symbol's trades, in seconds (each must divide a day evenly, so
    bars align to UTC); () builds none."""
    candle_close_grace_ms: NonNegativeInt = 1000
    """Close a quiet symbol's bar once its book frames' exchange time is this far past the bar's
    end: a trade stamped before the end may still be on its way on the trades topic."""

    @field_validator("candle_intervals_s")
    @classmethod
    def _whole_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for interval_s in value:
            if DAY_S % interval_s:
                raise ValueError(f"candle interval {interval_s} s does not divide a day evenly")
        if len(set(value)) != len(value):
            raise ValueError("candle intervals repeat")
        return value
