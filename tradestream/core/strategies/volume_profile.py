"""Volume profile: trade a close that leaves the value area of a profile with a clear POC.

On each closed bar (1 hour by default), against the volume profile of the ``lookback`` (100) bars
before it (``indicators.VolumeProfile``: the value area holds ``value_area``, 70 %, of the volume
around the point of control):

- a long when the close crosses above the value-area high (the previous close was at or below
  it): the market left the range it agreed was fair, upwards;
- a short when it crosses below the value-area low;
- neither unless the profile has a clear point of control: the POC bin holds at least
  ``poc_strength`` (1.5) times the mean volume of the profile's bins. A flat profile has no
  accepted value to break out of.

The profile is read before the bar is added, so the bar that crosses a level is not part of it.
Bins are ``bin_fraction`` (0.2 %) of the first close fed wide, fixed from then on so that bars can
enter and leave the window without re-binning (a BTCUSDT hour-bar window spans a few dozen
bins). The POC strength walks the bins, and only on a bar that crosses a value-area edge.

Strength is the POC strength over twice its floor, capped at 1 (1.5 gives 0.5, 3 gives 1).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tradestream.core.candles import Candle
from tradestream.core.indicators import ProfileLevels, VolumeProfile
from tradestream.core.strategies.strategy import CandleStrategy, CandleStrategyConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal


class VolumeProfileConfig(CandleStrategyConfig, frozen=True, extra="forbid"):
    """Window, value area, POC strength and bin width of the volume-profile strategy."""

    interval_s: int = 3_600
    lookback: int = Field(default=100, ge=2)
    value_area: float = Field(default=0.7, gt=0, le=1)
    poc_strength: float = Field(default=1.5, ge=1)
    bin_fraction: float = Field(default=0.002, gt=0, lt=0.1)


class VolumeProfileBreakout(CandleStrategy):
    """Follow a close out of the value area of a profile with a clear point of control."""

    kind: ClassVar[str] = "volume_profile"
    __slots__ = ("_config", "_prev_close", "_profile")

    def __init__(self, name: str, symbol: str, config: VolumeProfileConfig | None = None) -> None:
        """Keep ``config`` (the product defaults if None); the profile waits for the first close."""
        self._config = config or VolumeProfileConfig()
        super().__init__(name, symbol, self._config)
        self._profile: VolumeProfile | None = None
        self._prev_close: float | None = None

    @property
    def config(self) -> VolumeProfileConfig:
        """Return the settings this instance runs with."""
        return self._config

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the bar; return a signal if its close left a clear value area."""
        self.accept(candle)
        profile = self._profile
        if profile is None:
            cfg = self._config
            profile = VolumeProfile(cfg.lookback, candle.close * cfg.bin_fraction, cfg.value_area)
            self._profile = profile
        levels, prev_close = profile.value, self._prev_close
        signal = None
        if levels is not None and prev_close is not None:
            signal = self._crossing(candle, prev_close, levels, profile)
        profile.update_candle(candle)
        self._prev_close = candle.close
        return signal

    def _crossing(
        self, candle: Candle, prev_close: float, levels: ProfileLevels, profile: VolumeProfile
    ) -> Signal | None:
        # Decide on the profile of the bars before this one.
        close = candle.close
        if prev_close <= levels.vah < close:
            side, edge, name = Side.BUY, levels.vah, "value-area high"
        elif prev_close >= levels.val > close:
            side, edge, name = Side.SELL, levels.val, "value-area low"
        else:
            return None
        volumes = profile.volumes().values()
        mean = sum(volumes) / len(volumes)
        strength = max(volumes) / mean if mean > 0 else 0.0
        cfg = self._config
        if strength < cfg.poc_strength:
            return None
        reason = (
            f"close {close:.6g} crossed the {name} {edge:.6g} of the last {cfg.lookback} bars' "
            f"profile (POC {levels.poc:.6g} holding {strength:.2f}x the mean bin volume)"
        )
        indicators = {
            "poc": levels.poc,
            "vah": levels.vah,
            "val": levels.val,
            "poc_strength": strength,
        }
        return self.signal(candle, side, strength / (2 * cfg.poc_strength), reason, indicators)
