"""Configuration of the order-book analytics: ``AnalyticsConfig``.

Kept apart from the analytics themselves so that the per-update code can compile with mypyc,
which does not compile modules defining pydantic models. Feature names carry the configured
windows (``spoof_events_60s``), so a changed config is a changed ``md.features`` schema.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from tradestream.core.features.config import MAX_LEVELS, MAX_WINDOW_MS

WindowMs = Annotated[int, Field(ge=1, le=MAX_WINDOW_MS)]
Multiple = Annotated[float, Field(gt=1.0, allow_inf_nan=False)]


class AnalyticsConfig(BaseModel, frozen=True, extra="forbid"):
    """Choose what counts as a cluster, a spoof, layering and absorption, and over what time.

    Sizes are judged against the side's *typical level*: the median size of its best ``levels``
    levels, so one threshold fits every symbol and every market regime. Windows are trailing
    event-time windows ``(now - W, now]`` in milliseconds.

    Attributes:
        levels: levels per side scanned on each book update (deeper ones passed in are ignored).
        cluster_multiple: a level is a volume cluster when its size is above this multiple of
            the side's typical level.
        breakout_memory_ms: how long a cluster breakout stays reported after it happened; also
            how long a cluster that left the book is remembered as the level to break.
        trade_window_ms: window of the traded-volume profile (support/resistance from trades).
        trade_bucket_bps: width of the profile's price buckets, in bps of price (log-spaced, so
            one width fits every price).
        touch_levels: the best this many levels of a side are "at the touch"; spoofing is only
            looked for behind them.
        spoof_multiple: a level behind the touch is a large order when its size is above this
            multiple of the side's typical level.
        spoof_max_life_ms: a large order that vanishes untraded within this long of appearing is
            a spoof event; one that lived longer is an ordinary cancel.
        spoof_window_ms: window of the spoof event counts.
        layering_window_ms: window in which spoof events at distinct prices of one side make
            layering.
        layering_min_levels: distinct spoofed prices of one side, within the layering window,
            that make layering.
        absorption_window_ms: window of the volume traded at a held best level.
        absorption_multiple: a held best level absorbs when the volume traded at it within the
            window is at least this multiple of its largest displayed size.
    """

    levels: Annotated[int, Field(ge=3, le=MAX_LEVELS)] = 50
    cluster_multiple: Multiple = 4.0
    breakout_memory_ms: WindowMs = 5_000
    trade_window_ms: WindowMs = 60_000
    trade_bucket_bps: Annotated[float, Field(gt=0.0, le=1_000.0, allow_inf_nan=False)] = 1.0
    touch_levels: Annotated[int, Field(ge=1)] = 2
    spoof_multiple: Multiple = 5.0
    spoof_max_life_ms: WindowMs = 5_000
    spoof_window_ms: WindowMs = 60_000
    layering_window_ms: WindowMs = 10_000
    layering_min_levels: Annotated[int, Field(ge=2)] = 3
    absorption_window_ms: WindowMs = 10_000
    absorption_multiple: Multiple = 3.0

    @model_validator(mode="after")
    def _check_windows_and_levels(self) -> AnalyticsConfig:
        # Spoofing is looked for behind the touch: some scanned levels must lie there.
        if self.touch_levels >= self.levels:
            raise ValueError(
                f"touch_levels={self.touch_levels} leaves no level behind the touch "
                f"of the {self.levels} scanned"
            )
        if self.layering_window_ms > self.spoof_window_ms:
            raise ValueError("layering_window_ms must not exceed spoof_window_ms")
        return self
