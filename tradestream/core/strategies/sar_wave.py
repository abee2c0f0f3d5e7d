"""SAR wave: join a trend when its pullback held a Fibonacci level and the SAR turned back.

Parabolic SAR (0.02 / 0.02 / 0.2) splits the bars (15 minutes by default) into up and down legs:
a leg runs from one SAR flip to the next, and its extreme (the highest high of an up leg, the
lowest low of a down leg, flip bars included) is a wave's end. With the last trough T and peak P:

- when the SAR turns up, the down leg just ended at low L was a pullback of the up wave T -> P;
  it retraced ``r = (P - L) / (P - T)`` of it. A long when ``r`` is within ``fib_min`` (0.236) and
  ``fib_max`` (0.786), the wave spanned at least ``min_wave_atr`` (2) ATRs, and ``r`` sits close
  to a Fibonacci ratio (0.236, 0.382, 0.5, 0.618, 0.786): the pullback held a level traders
  watch, and the trend resumed;
- when the SAR turns down, the mirror: the up leg to high H retraced ``(H - T) / (P - T)`` of the
  down wave P -> T, and a short follows on the same conditions.

Confidence is ``1 - d / fib_tolerance`` with ``d`` the distance from ``r`` to the nearest
Fibonacci ratio; it must reach ``min_confidence`` (0.7), i.e. with the default tolerance of 0.1,
``r`` within 0.03 of a ratio. Strength is the confidence.

Flat markets are not traded: their SAR flips are noise, not waves. Flat strength is one minus
Kaufman's efficiency ratio over ``flat_period`` (20) closes, ``1 - |net move| / sum |moves|``:
1 when price went back and forth to end where it started, 0 when every bar moved the same way.
At ``min_flat_strength`` (0.6) or above the market is flat and nothing fires. The moves are kept
in a ring and summed exactly (``ExactSum``), so the ratio is O(1) per bar and does not drift.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from pydantic import Field, PositiveFloat, model_validator

from tradestream.core.candles import Candle
from tradestream.core.indicators import ExactSum, ParabolicSar, Trend
from tradestream.core.strategies.strategy import CandleStrategy, CandleStrategyConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

FIBONACCI = (0.236, 0.382, 0.5, 0.618, 0.786)


class SarWaveConfig(CandleStrategyConfig, frozen=True, extra="forbid"):
    """SAR factors, the flat-market filter and the Fibonacci wave test of the SAR wave strategy."""

    interval_s: int = 900
    sar_start: PositiveFloat = 0.02
    sar_step: PositiveFloat = 0.02
    sar_maximum: PositiveFloat = 0.2
    flat_period: int = Field(default=20, ge=2)
    min_flat_strength: float = Field(default=0.6, gt=0, le=1)
    fib_min: float = Field(default=0.236, gt=0, lt=1)
    fib_max: float = Field(default=0.786, gt=0, lt=1)
    fib_tolerance: PositiveFloat = 0.1
    min_confidence: float = Field(default=0.7, ge=0, le=1)
    min_wave_atr: float = Field(default=2.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SarWaveConfig:
        if self.sar_start > self.sar_maximum:
            raise ValueError("sar_start must not exceed sar_maximum")
        if self.fib_min >= self.fib_max:
            raise ValueError("fib_min must be below fib_max")
        return self


class FlatMeter:
    """Measure how flat the last ``period`` closes were: 1 - Kaufman's efficiency ratio."""

    __slots__ = ("_closes", "_moves", "_path", "_period")

    def __init__(self, period: int) -> None:
        """Keep the last ``period`` + 1 closes and the exact sum of their absolute moves."""
        self._period = period
        self._closes: deque[float] = deque()
        self._moves: deque[float] = deque()
        self._path = ExactSum()

    def update(self, close: float) -> float | None:
        """Add the close; return the flat strength in [0, 1], or None before ``period`` moves."""
        closes, moves = self._closes, self._moves
        if closes:
            move = abs(close - closes[-1])
            moves.append(move)
            self._path.add(move)
        closes.append(close)
        if len(moves) > self._period:
            self._path.add(-moves.popleft())
            closes.popleft()
        if len(moves) < self._period:
            return None
        path = self._path.value
        if path <= 0.0:
            return 1.0
        return 1.0 - abs(closes[-1] - closes[0]) / path


class SarWave(CandleStrategy):
    """Trade the resumption of a SAR wave after a Fibonacci pullback, outside flat markets."""

    kind: ClassVar[str] = "sar_wave"
    __slots__ = ("_config", "_extreme", "_flat", "_peak", "_sar", "_trend", "_trough")

    def __init__(self, name: str, symbol: str, config: SarWaveConfig | None = None) -> None:
        """Build the SAR and the flat meter of ``config`` (the product defaults if None)."""
        self._config = cfg = config or SarWaveConfig()
        super().__init__(name, symbol, cfg)
        self._sar = ParabolicSar(cfg.sar_start, cfg.sar_step, cfg.sar_maximum)
        self._flat = FlatMeter(cfg.flat_period)
        self._trend: Trend | None = None
        # The running extreme of the current leg, and the last completed peak and trough.
        self._extreme = 0.0
        self._peak: float | None = None
        self._trough: float | None = None

    @property
    def config(self) -> SarWaveConfig:
        """Return the settings this instance runs with."""
        return self._config

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the bar; return a signal if the SAR flipped ending a Fibonacci pullback."""
        atr = self.accept(candle)
        flat = self._flat.update(candle.close)
        point = self._sar.update_candle(candle)
        if point is None:
            return None
        last, self._trend = self._trend, point.trend
        up = point.trend is Trend.UP
        if last is None:
            self._extreme = candle.high if up else candle.low
            return None
        if last is point.trend:
            extreme = self._extreme
            self._extreme = max(extreme, candle.high) if up else min(extreme, candle.low)
            return None
        # The leg that just ended includes this bar's extreme on its side.
        if up:
            ended = min(self._extreme, candle.low)
            wave = (self._trough, self._peak)
            self._trough, self._extreme = ended, candle.high
        else:
            ended = max(self._extreme, candle.high)
            wave = (self._peak, self._trough)
            self._peak, self._extreme = ended, candle.low
        start, end = wave
        if start is None or end is None or flat is None or atr is None:
            return None
        return self._judge(candle, (start, end, ended), flat, atr, point.sar)

    def _judge(
        self,
        candle: Candle,
        wave: tuple[float, float, float],
        flat: float,
        atr: float,
        sar: float,
    ) -> Signal | None:
        # wave = (start, end, pullback end): T, P, L for a long; P, T, H for a short.
        cfg = self._config
        start, end, pulled = wave
        span = end - start
        side = Side.BUY if self._trend is Trend.UP else Side.SELL
        if (span > 0) != (side is Side.BUY) or abs(span) < max(cfg.min_wave_atr * atr, 1e-12):
            return None
        if flat >= cfg.min_flat_strength:
            return None
        retrace = (end - pulled) / span
        if not cfg.fib_min <= retrace <= cfg.fib_max:
            return None
        level = min(FIBONACCI, key=lambda ratio: abs(retrace - ratio))
        confidence = 1.0 - abs(retrace - level) / cfg.fib_tolerance
        if confidence < cfg.min_confidence:
            return None
        reason = (
            f"SAR turned {'up' if side is Side.BUY else 'down'} after a pullback of "
            f"{retrace:.3f} (Fibonacci {level}) of the {'up' if span > 0 else 'down'} wave "
            f"{start:.6g} -> {end:.6g} ({abs(span) / atr:.1f} ATR), flat strength {flat:.2f}, "
            f"confidence {confidence:.2f}"
        )
        indicators = {
            "sar": sar,
            "wave_start": start,
            "wave_end": end,
            "pullback_end": pulled,
            "retracement": retrace,
            "fib_level": level,
            "confidence": confidence,
            "flat_strength": flat,
        }
        return self.signal(candle, side, confidence, reason, indicators)
