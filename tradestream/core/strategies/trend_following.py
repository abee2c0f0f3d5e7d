"""Trend following: trade the EMA cross when ADX says a trend is there and RSI is not stretched.

On each closed bar (15 minutes by default):

- a long when the fast EMA (9) closes above the slow EMA (21) having been at or below it on the
  previous bar, ADX (14) is above ``adx_min`` (25) and RSI (14) is below ``rsi_overbought`` (70):
  a new up-trend that is strong enough to follow and not already exhausted;
- a short on the mirror cross, with ADX above 25 and RSI above ``rsi_oversold`` (30).

Strength is ADX over twice its floor, capped at 1 (ADX 25 gives 0.5, 50 and more give 1): the
stronger the trend, the more the cross is worth.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from tradestream.core.candles import Candle
from tradestream.core.indicators import Adx, Ema, Rsi
from tradestream.core.strategies.strategy import CandleStrategy, CandleStrategyConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal


class TrendFollowingConfig(CandleStrategyConfig, frozen=True, extra="forbid"):
    """EMA periods, the RSI filter and the ADX floor of the trend-following strategy."""

    interval_s: int = 900
    fast_period: int = Field(default=9, ge=1)
    slow_period: int = Field(default=21, ge=2)
    rsi_period: int = Field(default=14, ge=1)
    rsi_overbought: float = Field(default=70.0, gt=0, lt=100)
    rsi_oversold: float = Field(default=30.0, gt=0, lt=100)
    adx_period: int = Field(default=14, ge=1)
    adx_min: float = Field(default=25.0, gt=0, lt=100)

    @model_validator(mode="after")
    def _ordered(self) -> TrendFollowingConfig:
        if self.fast_period >= self.slow_period:
            raise ValueError("fast_period must be shorter than slow_period")
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError("rsi_oversold must be below rsi_overbought")
        return self


class TrendFollowing(CandleStrategy):
    """Follow a fresh EMA cross in a trending, not yet stretched, market."""

    kind: ClassVar[str] = "trend_following"
    __slots__ = ("_adx", "_config", "_fast", "_rsi", "_slow", "_was_above")

    def __init__(self, name: str, symbol: str, config: TrendFollowingConfig | None = None) -> None:
        """Build the EMAs, RSI and ADX of ``config`` (the product defaults if None)."""
        self._config = config or TrendFollowingConfig()
        super().__init__(name, symbol, self._config)
        self._fast = Ema(self._config.fast_period)
        self._slow = Ema(self._config.slow_period)
        self._rsi = Rsi(self._config.rsi_period)
        self._adx = Adx(self._config.adx_period)
        self._was_above: bool | None = None

    @property
    def config(self) -> TrendFollowingConfig:
        """Return the settings this instance runs with."""
        return self._config

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the bar; return a signal if the EMAs crossed under the filters."""
        self.accept(candle)
        fast = self._fast.update_candle(candle)
        slow = self._slow.update_candle(candle)
        rsi = self._rsi.update_candle(candle)
        dmi = self._adx.update_candle(candle)
        if fast is None or slow is None:
            return None
        above, was_above = fast > slow, self._was_above
        self._was_above = above
        if was_above is None or above == was_above or rsi is None or dmi is None:
            return None
        cfg = self._config
        side = Side.BUY if above else Side.SELL
        if dmi.adx <= cfg.adx_min:
            return None
        if (side is Side.BUY and rsi >= cfg.rsi_overbought) or (
            side is Side.SELL and rsi <= cfg.rsi_oversold
        ):
            return None
        reason = (
            f"EMA{cfg.fast_period} crossed {'above' if above else 'below'} "
            f"EMA{cfg.slow_period} with RSI {rsi:.1f} and ADX {dmi.adx:.1f}"
        )
        indicators = {
            "ema_fast": fast,
            "ema_slow": slow,
            "rsi": rsi,
            "adx": dmi.adx,
            "plus_di": dmi.plus_di,
            "minus_di": dmi.minus_di,
        }
        return self.signal(candle, side, dmi.adx / (2 * cfg.adx_min), reason, indicators)
