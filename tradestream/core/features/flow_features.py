"""Trade-flow features over trailing time windows: intensity, imbalance, signed volume, VWAP.

Each trade is one event in a ring of four channels (taker-buy size, taker-sell size, taker-buy
notional, taker-sell notional) that gives every window its sums. The taker side comes
from Bybit's ``S`` field: ``Buy`` means the aggressor bought (lifted the ask).

Windows are in event time. Until the history is as long as a window, its rates are computed over
the full window length, so they start low rather than noisy.
"""

from __future__ import annotations

import math
from typing import Final

from tradestream.core.errors import BadInputError
from tradestream.core.features.config import FeatureConfig
from tradestream.core.features.registry import FeatureSpec, window_suffix
from tradestream.core.features.ring import WindowedSums

# Channels of the trade ring.
_BUY_QTY: Final = 0
_SELL_QTY: Final = 1
_BUY_NOTIONAL: Final = 2
_SELL_NOTIONAL: Final = 3
_NO_TRADES: Final = "0.0 with no trade in the window"


def flow_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """List the trade-flow features in vector order."""
    specs: list[FeatureSpec] = []
    for w in config.trade_windows_ms:
        s = window_suffix(w)
        seconds = f"{w / 1000:g} s"
        specs += [
            FeatureSpec(
                f"trade_rate_{s}",
                f"(number of trades in W) / {seconds}, W = {w} ms",
                "trades/s",
                _NO_TRADES,
            ),
            FeatureSpec(
                f"trade_imbalance_{s}",
                "(V_buy - V_sell) / (V_buy + V_sell), V_side = "
                "Σ_W size of trades with that taker side",
                "ratio in [-1, 1]",
                _NO_TRADES,
            ),
            FeatureSpec(
                f"signed_volume_{s}", "V_buy - V_sell = Σ_W ±size (+ taker buy)", "base", _NO_TRADES
            ),
            FeatureSpec(
                f"volume_delta_{s}",
                "Σ_W ±price·size (+ taker buy): the volume delta in quote currency",
                "quote",
                _NO_TRADES,
            ),
            FeatureSpec(
                f"trade_vwap_{s}",
                "Σ_W price·size / Σ_W size",
                "quote",
                "mid (0.0 before a two-sided book) with no trade in the window",
            ),
        ]
    return specs


class TradeFlow:
    """Accumulate trades into windowed sums and write the trade-flow features."""

    def __init__(self, config: FeatureConfig, base: int) -> None:
        """Lay out this group's features from position ``base`` of the vector."""
        self.specs = flow_specs(config)
        at = {spec.name: base + i for i, spec in enumerate(self.specs)}
        self._sums = WindowedSums(config.trade_windows_ms, 4)
        self._layout = [
            (
                at[f"trade_rate_{s}"],
                at[f"trade_imbalance_{s}"],
                at[f"signed_volume_{s}"],
                at[f"volume_delta_{s}"],
                at[f"trade_vwap_{s}"],
                1000.0 / w,
            )
            for w, s in ((w, window_suffix(w)) for w in config.trade_windows_ms)
        ]
        self._event = [0.0] * 4
        self._mid_written = 0.0

    def on_trade(self, now: int, price: float, size: float, is_buy: bool) -> None:
        """Add one trade at ``now``; reject a non-positive or non-finite price or size."""
        if not (0.0 < price < math.inf and 0.0 < size < math.inf):
            raise BadInputError(
                f"trade needs a positive finite price and size, got {price}, {size}"
            )
        event = self._event
        notional = price * size
        if is_buy:
            event[_BUY_QTY], event[_SELL_QTY] = size, 0.0
            event[_BUY_NOTIONAL], event[_SELL_NOTIONAL] = notional, 0.0
        else:
            event[_BUY_QTY], event[_SELL_QTY] = 0.0, size
            event[_BUY_NOTIONAL], event[_SELL_NOTIONAL] = 0.0, notional
        self._sums.push(now, event)

    def refresh(self, now: int, mid: float, out: list[float]) -> None:
        """Evict trades older than each window at ``now`` and write the windowed features."""
        ring = self._sums
        if not ring.advance(now) and mid == self._mid_written:
            return  # no trade came or left and the VWAP fallback did not move: values stand
        self._mid_written = mid
        # The layout and the ring have one entry per window; a strict zip would cost more.
        for (i_rate, i_imb, i_signed, i_delta, i_vwap, per_second), sums, count in zip(
            self._layout, ring.sums, ring.counts, strict=False
        ):
            buy, sell, buy_notional, sell_notional = sums
            volume = buy + sell
            out[i_rate] = count * per_second
            out[i_signed] = buy - sell
            out[i_delta] = buy_notional - sell_notional
            if volume > 0.0 and count:
                out[i_imb] = _unit_interval((buy - sell) / volume)
                out[i_vwap] = (buy_notional + sell_notional) / volume
            else:
                out[i_imb] = 0.0
                out[i_vwap] = mid


def _unit_interval(x: float) -> float:
    # Running sums may leave a rounding residue on an emptied side; keep the ratio in [-1, 1].
    if x > 1.0:
        return 1.0
    return -1.0 if x < -1.0 else x
