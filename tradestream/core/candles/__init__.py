"""Candles: the bar type every indicator and strategy consumes, and bar roll-ups.

A ``Candle`` is numeric-feature data, so its prices are floats; the exchange-precision strings
stay on the ``md.candles`` wire schema and are converted once at that boundary.
"""

from tradestream.core.candles.bar_builder import BarBuilder, SymbolBars
from tradestream.core.candles.candle import INTERVALS_S, Candle, interval_label
from tradestream.core.candles.rollup import RollUp, roll_up

__all__ = [
    "INTERVALS_S",
    "BarBuilder",
    "Candle",
    "RollUp",
    "SymbolBars",
    "interval_label",
    "roll_up",
]
