"""Technical indicators over closed bars, updated in O(1) per bar, without I/O or look-ahead.

Every indicator is a small object fed one closed bar at a time: ``update(...)`` takes the bar's
numbers (close; or high, low, close; ...) and ``update_candle(candle)`` picks them out of a
``Candle``. Both return the value as of that bar, or None while the indicator warms up; ``value``
and ``ready`` say the same later. Nothing is recomputed over a window and nothing beyond the bars
fed is read, so the same object runs live, in the backtest and in tests, and after k bars it
holds exactly what a fresh one fed those k bars holds. Multi-value results are small frozen
dataclasses. Inputs are taken to be finite (market data is checked at the boundary).

Where TA-Lib has the indicator, ours is computed as TA-Lib's (same seeding, same first bar), and
the tests hold the two to 1e-9 relative on recorded klines: SMA, EMA, RSI, ATR, Bollinger bands,
ADX/+DI/-DI, MACD, parabolic SAR, Donchian (MAX/MIN), rolling correlation (CORREL). Each module
says where, and why, it departs from TA-Lib (an RSI of 50 in a flat market; exact-zero tests
where TA-Lib's are |x| < 1e-14).

Rolling sums do not drift: windows keep sums of deviations from a shift and recompute them
exactly once per window (``window``); VWAP and the volume profile keep exact sums
(``exact_sum``).
"""

from tradestream.core.indicators.adx import Adx, DirectionalIndex
from tradestream.core.indicators.atr import Atr, true_range
from tradestream.core.indicators.bollinger import Bollinger, BollingerBands
from tradestream.core.indicators.correlation import (
    CorrelationMatrix,
    ReturnCorrelation,
    RollingCorrelation,
)
from tradestream.core.indicators.donchian import Donchian, DonchianChannel
from tradestream.core.indicators.exact_sum import ExactSum
from tradestream.core.indicators.indicator import CandleIndicator, Trend
from tradestream.core.indicators.macd import Macd, MacdValue
from tradestream.core.indicators.moving_average import Ema, Sma
from tradestream.core.indicators.parabolic_sar import ParabolicSar, SarPoint
from tradestream.core.indicators.rsi import Rsi
from tradestream.core.indicators.supertrend import SuperTrend, SuperTrendValue
from tradestream.core.indicators.volume_profile import ProfileLevels, VolumeProfile
from tradestream.core.indicators.vwap import RollingVwap, SessionVwap, typical_price

__all__ = [
    "Adx",
    "Atr",
    "Bollinger",
    "BollingerBands",
    "CandleIndicator",
    "CorrelationMatrix",
    "DirectionalIndex",
    "Donchian",
    "DonchianChannel",
    "Ema",
    "ExactSum",
    "Macd",
    "MacdValue",
    "ParabolicSar",
    "ProfileLevels",
    "ReturnCorrelation",
    "RollingCorrelation",
    "RollingVwap",
    "Rsi",
    "SarPoint",
    "SessionVwap",
    "Sma",
    "SuperTrend",
    "SuperTrendValue",
    "Trend",
    "VolumeProfile",
    "true_range",
    "typical_price",
]
