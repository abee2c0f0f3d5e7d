"""Support and resistance from recent trades: the prices where the most volume changed hands.

Trades of the last ``trade_window_ms`` are binned into log-spaced price buckets of
``trade_bucket_bps`` (bucket ``floor(10^4 · ln(p) / width)``), each keeping its volume and
volume-weighted price. The point of control (POC) is the bucket with the most volume; support is
the heaviest bucket whose VWAP is at or below mid, resistance the heaviest at or above it.
Buckets are updated per trade in O(1); the heaviest ones are found when the vector is read.
"""

from __future__ import annotations

from collections import deque
from math import floor, log
from typing import Final

from tradestream.core.book_analytics.config import AnalyticsConfig
from tradestream.core.features.registry import FeatureSpec, window_suffix

BPS: Final = 1e4


def trade_level_specs(config: AnalyticsConfig) -> list[FeatureSpec]:
    """List the traded-volume level features in vector order."""
    w = window_suffix(config.trade_window_ms)
    bucket = (
        f"buckets of {config.trade_bucket_bps} bps of price over trades in W = "
        f"{config.trade_window_ms} ms; p_x = VWAP of bucket x, V_x its volume, V = Σ_W size"
    )
    empty = "0.0 when no trade is in W (or no mid)"
    return [
        FeatureSpec(
            f"trade_poc_dist_bps_{w}",
            f"10^4 · (p_poc - mid) / mid, poc = bucket with the largest V_x; {bucket}",
            "bps",
            empty,
        ),
        FeatureSpec(f"trade_poc_share_{w}", "V_poc / V", "ratio in [0, 1]", empty),
        FeatureSpec(
            f"trade_support_dist_bps_{w}",
            "10^4 · (mid - p_s) / mid, s = bucket with the largest V_x among p_x ≤ mid",
            "bps ≥ 0",
            "0.0 when no bucket is at or below mid",
        ),
        FeatureSpec(f"trade_support_share_{w}", "V_s / V", "ratio in [0, 1]", empty),
        FeatureSpec(
            f"trade_resistance_dist_bps_{w}",
            "10^4 · (p_r - mid) / mid, r = bucket with the largest V_x among p_x ≥ mid",
            "bps ≥ 0",
            "0.0 when no bucket is at or above mid",
        ),
        FeatureSpec(f"trade_resistance_share_{w}", "V_r / V", "ratio in [0, 1]", empty),
    ]


class TradeLevels:
    """Keep the rolling traded-volume profile of one symbol."""

    def __init__(self, config: AnalyticsConfig) -> None:
        """Bin trades as ``config`` says."""
        self._window_ms = config.trade_window_ms
        self._scale = BPS / config.trade_bucket_bps
        self.specs = trade_level_specs(config)
        self._trades: deque[tuple[int, int, float, float]] = deque()  # ts, bucket, size, p·size
        self._volume: dict[int, float] = {}
        self._notional: dict[int, float] = {}

    def on_trade(self, now: int, price: float, size: float) -> None:
        """Add one trade (positive price and size) at event time ``now``."""
        bucket = floor(log(price) * self._scale)
        notional = price * size
        self._trades.append((now, bucket, size, notional))
        self._volume[bucket] = self._volume.get(bucket, 0.0) + size
        self._notional[bucket] = self._notional.get(bucket, 0.0) + notional

    def _evict(self, now: int) -> None:
        # Drop trades that left (now - W, now]; an emptied bucket is deleted, not left at ~0.
        trades, volume, notional = self._trades, self._volume, self._notional
        start = now - self._window_ms
        while trades and trades[0][0] <= start:
            _, bucket, size, value = trades.popleft()
            left = volume[bucket] - size
            if left <= 1e-12 * size or not trades:
                del volume[bucket]
                del notional[bucket]
            else:
                volume[bucket] = left
                notional[bucket] -= value

    def write(self, now: int, mid: float, out: list[float], at: int) -> None:
        """Write the level features at ``out[at:]`` as of ``now`` around ``mid``."""
        self._evict(now)
        out[at : at + 6] = _ZEROS
        total = sum(self._volume.values())
        if total <= 0.0 or mid <= 0.0:
            return
        poc = support = resistance = (0.0, 0.0)  # (volume, vwap)
        notional = self._notional
        for bucket, volume in self._volume.items():
            vwap = notional[bucket] / volume
            if volume > poc[0]:
                poc = (volume, vwap)
            if vwap <= mid and volume > support[0]:
                support = (volume, vwap)
            if vwap >= mid and volume > resistance[0]:
                resistance = (volume, vwap)
        out[at] = BPS * (poc[1] - mid) / mid
        out[at + 1] = poc[0] / total
        if support[0]:
            out[at + 2] = BPS * (mid - support[1]) / mid
            out[at + 3] = support[0] / total
        if resistance[0]:
            out[at + 4] = BPS * (resistance[1] - mid) / mid
            out[at + 5] = resistance[0] / total


_ZEROS: Final = [0.0] * 6
