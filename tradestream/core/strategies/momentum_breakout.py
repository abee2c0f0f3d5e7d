"""Momentum breakout: trade a close through a level the market has tested, on heavy volume.

On each closed bar (5 minutes by default), against the ``lookback`` (100) bars before it:

- resistance is the highest high of those bars; it is *strong* when at least
  ``resistance_strength`` (3) swing highs of those bars lie within ``touch_tolerance`` (0.1 %)
  below it: the market went there and turned back that many times;
- a long when the close is more than ``price_threshold`` (0.2 %) above a strong resistance and the
  bar's volume is at least ``volume_multiplier`` (1.5) times the average of the ``volume_period``
  (20) bars before it: a break the market put size behind;
- a short on the mirror: the close more than 0.2 % below a strong support (the lowest low, tested
  by as many swing lows), on the same volume condition.

A swing high is a bar whose high is not below the previous bar's and above the next bar's (a
swing low the mirror); it is known one bar later, so only bars that have been followed count. The
levels are read before the bar is added, so the bar that breaks a level is never part of it. The
breakout bar becomes the new extreme with a single touch, so a level fires once.

Cost: the highest high and lowest low are Donchian channels (O(1) amortised); counting touches
walks the swing points of the window, a few dozen at most, and only on a bar that closes past a
level with the volume to count.

Strength is the volume ratio over twice the multiplier, capped at 1 (1.5x gives 0.5, 3x gives 1).
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from pydantic import Field

from tradestream.core.candles import Candle
from tradestream.core.indicators import Donchian, Sma
from tradestream.core.strategies.strategy import CandleStrategy, CandleStrategyConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal


class MomentumBreakoutConfig(CandleStrategyConfig, frozen=True, extra="forbid"):
    """Level, touch, volume and price settings of the momentum breakout strategy."""

    interval_s: int = 300
    lookback: int = Field(default=100, ge=3)
    resistance_strength: int = Field(default=3, ge=1)
    touch_tolerance: float = Field(default=0.001, ge=0, lt=0.1)
    price_threshold: float = Field(default=0.002, ge=0, lt=0.1)
    volume_period: int = Field(default=20, ge=1)
    volume_multiplier: float = Field(default=1.5, gt=0)


class MomentumBreakout(CandleStrategy):
    """Buy a break above a tested resistance, sell a break below a tested support, on volume."""

    kind: ClassVar[str] = "momentum_breakout"
    __slots__ = ("_bar", "_before", "_channel", "_config", "_highs", "_lows", "_prev", "_volume")

    def __init__(
        self, name: str, symbol: str, config: MomentumBreakoutConfig | None = None
    ) -> None:
        """Build the channel, the volume average and the swing lists of ``config``."""
        self._config = config or MomentumBreakoutConfig()
        super().__init__(name, symbol, self._config)
        self._channel = Donchian(self._config.lookback)
        self._volume = Sma(self._config.volume_period)
        # Swing points as (bar number, price), oldest first; the previous bar's (high, low).
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()
        self._prev: tuple[float, float] | None = None
        self._before: tuple[float, float] | None = None
        self._bar = 0

    @property
    def config(self) -> MomentumBreakoutConfig:
        """Return the settings this instance runs with."""
        return self._config

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the bar; return a signal if it broke a strong level on volume."""
        self.accept(candle)
        channel, average = self._channel.value, self._volume.value
        signal = None
        if channel is not None and average is not None and average > 0:
            signal = self._breakout(candle, channel.upper, channel.lower, average)
        self._remember(candle)
        return signal

    def _breakout(
        self, candle: Candle, resistance: float, support: float, average: float
    ) -> Signal | None:
        # Decide on the levels and volume of the bars before this one.
        cfg = self._config
        ratio = candle.volume / average
        if ratio < cfg.volume_multiplier:
            return None
        if candle.close > resistance * (1 + cfg.price_threshold):
            side, level = Side.BUY, resistance
            touches = _touches(self._highs, level * (1 - cfg.touch_tolerance), level)
        elif candle.close < support * (1 - cfg.price_threshold):
            side, level = Side.SELL, support
            touches = _touches(self._lows, level, level * (1 + cfg.touch_tolerance))
        else:
            return None
        if touches < cfg.resistance_strength:
            return None
        name = "resistance" if side is Side.BUY else "support"
        reason = (
            f"close {candle.close:.6g} broke {name} {level:.6g} (tested {touches} times in "
            f"{cfg.lookback} bars) by {abs(candle.close / level - 1):.2%} on {ratio:.1f}x "
            "average volume"
        )
        indicators = {
            "level": level,
            "touches": float(touches),
            "volume_ratio": ratio,
            "volume_average": average,
        }
        return self.signal(candle, side, ratio / (2 * cfg.volume_multiplier), reason, indicators)

    def _remember(self, candle: Candle) -> None:
        # Confirm the previous bar as a swing point now that its successor is known, then add
        # this bar to the channel and the average and forget swings older than the lookback.
        bar, prev, before = self._bar, self._prev, self._before
        if prev is not None and before is not None:
            if before[0] <= prev[0] > candle.high:
                self._highs.append((bar - 1, prev[0]))
            if before[1] >= prev[1] < candle.low:
                self._lows.append((bar - 1, prev[1]))
        self._channel.update_candle(candle)
        self._volume.update(candle.volume)
        self._before, self._prev = prev, (candle.high, candle.low)
        self._bar = bar + 1
        oldest = bar + 1 - self._config.lookback
        for swings in (self._highs, self._lows):
            while swings and swings[0][0] < oldest:
                swings.popleft()


def _touches(swings: deque[tuple[int, float]], low: float, high: float) -> int:
    # Count the window's swing points priced within [low, high].
    return sum(1 for _, price in swings if low <= price <= high)
