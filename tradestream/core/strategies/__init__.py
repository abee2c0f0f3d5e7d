"""Candle strategies: pure, incremental objects that turn closed bars into ``Signal`` s.

Each strategy takes one symbol's closed bars of its own interval (the agent rolls 1-minute bars
up), in time order, and answers each with a signal or None; it reads no clock and does no I/O,
and every indicator it keeps updates in O(1), so live, backtest and tests run the same object and
a replay makes the same signals with the same ids. ``strategy`` holds the ``Strategy`` protocol,
the shared config (interval, ATR exits) and how every signal is made; ``registry`` builds one by
kind from validated params.

- ``momentum_breakout`` (``MomentumBreakout``, 5 m): a close 0.2 % past a level tested three
  times, on 1.5x volume;
- ``trend_following`` (``TrendFollowing``, 15 m): an EMA 9/21 cross with ADX > 25 and RSI inside
  30-70;
- ``mean_reversion`` (``MeanReversion``, 1 h): a close 2.5 deviations off its 20-bar mean, with
  bands at least 1 % wide;
- ``sar_wave`` (``SarWave``, 15 m): a SAR flip ending a Fibonacci pullback, outside flat markets;
- ``supertrend`` (``SuperTrendFlip``, 30 m): a SuperTrend(10, 3) flip;
- ``volume_profile`` (``VolumeProfileBreakout``, 1 h): a close out of the 70 % value area of a
  profile whose POC holds 1.5x the mean bin volume.
"""

from tradestream.core.strategies.mean_reversion import MeanReversion, MeanReversionConfig
from tradestream.core.strategies.momentum_breakout import (
    MomentumBreakout,
    MomentumBreakoutConfig,
)
from tradestream.core.strategies.registry import STRATEGIES, build
from tradestream.core.strategies.sar_wave import FlatMeter, SarWave, SarWaveConfig
from tradestream.core.strategies.strategy import (
    CandleStrategy,
    CandleStrategyConfig,
    Strategy,
)
from tradestream.core.strategies.supertrend import SuperTrendConfig, SuperTrendFlip
from tradestream.core.strategies.trend_following import TrendFollowing, TrendFollowingConfig
from tradestream.core.strategies.volume_profile import (
    VolumeProfileBreakout,
    VolumeProfileConfig,
)

__all__ = [
    "STRATEGIES",
    "CandleStrategy",
    "CandleStrategyConfig",
    "FlatMeter",
    "MeanReversion",
    "MeanReversionConfig",
    "MomentumBreakout",
    "MomentumBreakoutConfig",
    "SarWave",
    "SarWaveConfig",
    "Strategy",
    "SuperTrendConfig",
    "SuperTrendFlip",
    "TrendFollowing",
    "TrendFollowingConfig",
    "VolumeProfileBreakout",
    "VolumeProfileConfig",
    "build",
]
