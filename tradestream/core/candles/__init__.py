"""Candles: the bar type every indicator and strategy consumes, and bar roll-ups.

A ``Candle`` is numeric-feature data, so its prices are floats; the exchange-precision strings
stay on the ``md.candles`` wire schema and are converted once at that boundary.
"""

from tradestream.core.candles.candle import INTERVALS_S, Candle, interval_label

__all__ = ["INTERVALS_S", "Candle", "interval_label"]
