"""What the market agent computes and how often it publishes: ``MarketConfig``.

Kept apart from ``market.py`` so that the per-message path compiles with mypyc (which does not
compile modules defining pydantic models); ``market.py`` re-exports it.
"""

from __future__ import annotations

from pydantic import BaseModel, NonNegativeInt, PositiveInt

from tradestream.core.features import FeatureConfig


class MarketConfig(BaseModel, frozen=True, extra="forbid"):
    """What the market agent computes and how often it publishes features."""

    features: FeatureConfig = FeatureConfig()
    features_interval_ms: NonNegativeInt = 100
    """Publish a symbol's features at most this often (0 = after every input event)."""
    stale_after_ms: PositiveInt = 5000
    """Report a book as ``stale`` when no frame arrived for this long (Bybit pushes
    depth-200 books every 100 ms, so seconds of silence mean the stream, not the market)."""
    resync_retry_ms: PositiveInt = 5000
    """Ask again for a resync this long after the last request if the book is still unrepaired.

    A request can be lost (ingest not yet listening, restarting, or the socket between its
    unsubscribe and subscribe); asking only once would leave the book invalid for good."""
