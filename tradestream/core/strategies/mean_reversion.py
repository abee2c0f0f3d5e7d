"""Mean reversion: fade a close stretched far outside its Bollinger bands in a market that moves.

On each closed bar (1 hour by default), with Bollinger bands of ``period`` (20) closes at ``k``
(2) population standard deviations:

- a long when the close's z-score drops to ``-zscore`` (2.5) or below having been above it on
  the previous bar: price is stretched far under its mean and is expected to come back;
- a short when it rises to ``+zscore`` or above having been below it;
- neither unless the band width ``(upper - lower) / middle`` is at least ``min_volatility``
  (1 %): in a quiet market a reversion to the mean does not pay the fees.

A close in a window of N closes can be at most sqrt(N - 1) deviations from their mean (4.36 for
20), so strength is where |z| lies between the threshold and that bound: 0 at the threshold,
1 at the most extreme close the window allows.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field, PositiveFloat, model_validator

from tradestream.core.candles import Candle
from tradestream.core.indicators import Bollinger
from tradestream.core.strategies.strategy import CandleStrategy, CandleStrategyConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal


class MeanReversionConfig(CandleStrategyConfig, frozen=True, extra="forbid"):
    """Bollinger settings, the z-score to fade and the volatility floor of mean reversion."""

    interval_s: int = 3_600
    period: int = Field(default=20, ge=2)
    k: PositiveFloat = 2.0
    zscore: PositiveFloat = 2.5
    min_volatility: float = Field(default=0.01, ge=0, lt=1)

    @model_validator(mode="after")
    def _reachable(self) -> MeanReversionConfig:
        if self.zscore >= math.sqrt(self.period - 1):
            raise ValueError(
                f"a close can be at most sqrt(period - 1) = {math.sqrt(self.period - 1):.2f} "
                f"deviations from the mean of {self.period} closes: zscore {self.zscore} "
                "never fires"
            )
        return self


class MeanReversion(CandleStrategy):
    """Fade a close beyond ``zscore`` standard deviations when the bands are wide enough."""

    kind: ClassVar[str] = "mean_reversion"
    __slots__ = ("_bands", "_ceiling", "_config", "_zone")

    def __init__(self, name: str, symbol: str, config: MeanReversionConfig | None = None) -> None:
        """Build the Bollinger bands of ``config`` (the product defaults if None)."""
        self._config = config or MeanReversionConfig()
        super().__init__(name, symbol, self._config)
        self._bands = Bollinger(self._config.period, self._config.k)
        self._ceiling = math.sqrt(self._config.period - 1)
        self._zone = 0

    @property
    def config(self) -> MeanReversionConfig:
        """Return the settings this instance runs with."""
        return self._config

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the bar; return a signal if its close newly left the z-score limit."""
        self.accept(candle)
        bands = self._bands.update_candle(candle)
        if bands is None:
            return None
        cfg = self._config
        zone = (bands.zscore >= cfg.zscore) - (bands.zscore <= -cfg.zscore)
        last_zone, self._zone = self._zone, zone
        if zone in (0, last_zone):
            return None
        width = (bands.upper - bands.lower) / bands.middle
        if width < cfg.min_volatility:
            return None
        side = Side.BUY if bands.zscore < 0 else Side.SELL
        reason = (
            f"close {candle.close:.6g} is {bands.zscore:+.2f} standard deviations from its "
            f"{cfg.period}-bar mean {bands.middle:.6g} (limit {cfg.zscore}) with bands "
            f"{width:.2%} wide: {'buy' if side is Side.BUY else 'sell'} the reversion"
        )
        indicators = {
            "bb_middle": bands.middle,
            "bb_upper": bands.upper,
            "bb_lower": bands.lower,
            "bb_std": bands.std,
            "zscore": bands.zscore,
            "band_width": width,
        }
        strength = (abs(bands.zscore) - cfg.zscore) / (self._ceiling - cfg.zscore)
        return self.signal(candle, side, strength, reason, indicators)
