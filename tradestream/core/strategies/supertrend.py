"""SuperTrend: trade the flips of a ``multiplier`` x ATR band that trails price.

On each closed bar (30 minutes by default), with SuperTrend on an ATR of ``supertrend_period``
(10) bars and a ``multiplier`` of 3.0 (``indicators.SuperTrend``, TradingView's definition):

- a long when the trend turns up (the close rose above the final upper band of a down trend);
- a short when it turns down (the close fell below the final lower band of an up trend).

Nothing fires on the first trend the indicator reports: that is its warm-up, not a flip.
Strength is the flip bar's body over the exit ATR (``atr_period``, 14), capped at 1: a bar that
closes a whole ATR past its open is a more decisive break than one that barely crosses the band.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PositiveFloat

from tradestream.core.candles import Candle
from tradestream.core.indicators import SuperTrend, Trend
from tradestream.core.strategies.strategy import CandleStrategy, CandleStrategyConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal


class SuperTrendConfig(CandleStrategyConfig, frozen=True, extra="forbid"):
    """ATR period and band multiplier of the SuperTrend strategy."""

    interval_s: int = 1_800
    supertrend_period: int = Field(default=10, ge=1)
    multiplier: PositiveFloat = 3.0


class SuperTrendFlip(CandleStrategy):
    """Follow the SuperTrend into its new direction on the bar it flips."""

    kind: ClassVar[str] = "supertrend"
    __slots__ = ("_config", "_supertrend", "_trend")

    def __init__(self, name: str, symbol: str, config: SuperTrendConfig | None = None) -> None:
        """Build the SuperTrend of ``config`` (the product defaults if None)."""
        self._config = config or SuperTrendConfig()
        super().__init__(name, symbol, self._config)
        self._supertrend = SuperTrend(self._config.supertrend_period, self._config.multiplier)
        self._trend: Trend | None = None

    @property
    def config(self) -> SuperTrendConfig:
        """Return the settings this instance runs with."""
        return self._config

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the bar; return a signal if the SuperTrend flipped on it."""
        atr = self.accept(candle)
        value = self._supertrend.update_candle(candle)
        if value is None:
            return None
        last, self._trend = self._trend, value.trend
        if last is None or last is value.trend:
            return None
        side = Side.BUY if value.trend is Trend.UP else Side.SELL
        band = "upper" if side is Side.BUY else "lower"
        reason = (
            f"SuperTrend({self._config.supertrend_period}, {self._config.multiplier:g}) turned "
            f"{'up' if side is Side.BUY else 'down'}: close {candle.close:.6g} crossed the "
            f"{band} band; the line is now at {value.line:.6g}"
        )
        indicators = {
            "supertrend": value.line,
            "supertrend_upper": value.upper,
            "supertrend_lower": value.lower,
            "supertrend_trend": float(value.trend),
        }
        body = abs(candle.close - candle.open)
        strength = body / atr if atr else 0.0
        return self.signal(candle, side, strength, reason, indicators)
