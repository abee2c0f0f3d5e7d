"""What every candle strategy offers, its shared config, and the one way it makes a ``Signal``.

A strategy is fed the closed bars of one symbol at one interval, in time order, and answers each
with a ``Signal`` or None. It reads nothing but the bars fed (no clock, no I/O), so the same object
runs live, in the backtest and in tests, and a replay makes the same signals with the same ids.

Every signal is made by ``CandleStrategy.signal`` so that all of them agree on:

- the id: ``<strategy name>-<symbol>-<bar open time ms>``, derived from the cause (the bar), never
  from a clock, so the risk agent and the exchange see a replayed signal as the duplicate it is;
- the time: ``created_ts_ms`` is the bar's close (the first moment the signal could exist);
- the entry reference price: the bar's close;
- the suggested exits: ``stop_atr`` and ``take_atr`` Wilder ATRs (``atr_period`` bars) from the
  entry, on the losing and the winning side; left out when the ATR is still warming up, is zero,
  or would put a level at or below zero;
- the prices as Decimals with ten significant digits (rounding to the tick is the executor's job).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar, Protocol

from pydantic import BaseModel, Field, PositiveFloat, field_validator

from tradestream.core.candles import INTERVALS_S, Candle
from tradestream.core.indicators import Atr
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

ID_LIMIT = 64
# "-", "-" and a 13-digit millisecond time: what an id adds to the name and the symbol.
_ID_OVERHEAD = 15
_NAME_CHARS = frozenset(chr(c) for c in range(ord("!"), ord("~") + 1))


class Strategy(Protocol):
    """Turn one symbol's closed bars of one interval into signals, one bar at a time."""

    @property
    def name(self) -> str:
        """Return the configured instance name (it prefixes every signal id)."""
        ...

    @property
    def symbol(self) -> str:
        """Return the symbol whose bars this instance takes."""
        ...

    @property
    def interval_s(self) -> int:
        """Return the bar interval this instance takes, in seconds."""
        ...

    def on_candle(self, candle: Candle) -> Signal | None:
        """Fold in the newest closed bar; return the signal it triggers, if any."""
        ...


class CandleStrategyConfig(BaseModel, frozen=True, extra="forbid"):
    """Settings every candle strategy has: its bar interval and the ATR-based exits it suggests."""

    interval_s: int = 60
    atr_period: int = Field(default=14, ge=1)
    stop_atr: PositiveFloat = 1.5
    take_atr: PositiveFloat = 3.0

    @field_validator("interval_s")
    @classmethod
    def _bybit_interval(cls, value: int) -> int:
        # Bars come from Bybit klines or their UTC roll-ups; other intervals have no source.
        if value not in INTERVALS_S.values():
            raise ValueError(f"interval_s must be a Bybit kline interval, got {value}")
        return value


class CandleStrategy:
    """Check bars, keep the exit ATR and make signals for one symbol; subclasses decide when."""

    kind: ClassVar[str]
    __slots__ = ("_atr", "_exits", "_last_open_ms", "interval_s", "name", "symbol")

    def __init__(self, name: str, symbol: str, config: CandleStrategyConfig) -> None:
        """Check that the name is an id-safe word short enough for every signal id."""
        if not name or not set(name) <= _NAME_CHARS:
            raise ValueError(f"strategy name must be printable ASCII without spaces: {name!r}")
        if len(name) + len(symbol) + _ID_OVERHEAD > ID_LIMIT:
            raise ValueError(
                f"strategy name {name!r} with symbol {symbol} makes signal ids over {ID_LIMIT}"
            )
        self.name = name
        self.symbol = symbol
        self.interval_s = config.interval_s
        self._exits = (config.stop_atr, config.take_atr)
        self._atr = Atr(config.atr_period)
        self._last_open_ms = -1

    def accept(self, candle: Candle) -> float | None:
        """Refuse a bar of another symbol, interval or an old time; return the exit ATR after it."""
        if candle.symbol != self.symbol or candle.interval_s != self.interval_s:
            raise ValueError(
                f"{self.name} takes {self.symbol} {self.interval_s} s bars, "
                f"got {candle.symbol} {candle.interval_s} s"
            )
        if candle.open_ts_ms <= self._last_open_ms:
            raise ValueError(
                f"{self.name} got the bar at {candle.open_ts_ms} after the one at "
                f"{self._last_open_ms}: bars must come in time order"
            )
        self._last_open_ms = candle.open_ts_ms
        return self._atr.update_candle(candle)

    def signal(
        self,
        candle: Candle,
        side: Side,
        strength: float,
        reason: str,
        indicators: Mapping[str, float],
    ) -> Signal:
        """Return the signal of ``side`` at this bar's close, with ATR exits if the ATR is known."""
        entry = _price(candle.close)
        stop, take = self._exit_levels(candle.close, side)
        atr = self._atr.value
        used = dict(indicators) if atr is None else {**indicators, "atr": atr}
        return Signal(
            signal_id=f"{self.name}-{self.symbol}-{candle.open_ts_ms}",
            strategy=self.name,
            symbol=self.symbol,
            side=side,
            strength=min(1.0, max(0.0, strength)),
            entry_price=entry,
            stop_loss=stop,
            take_profit=take,
            reason=reason,
            created_ts_ms=candle.close_ts_ms,
            indicators=used,
        )

    def _exit_levels(self, close: float, side: Side) -> tuple[Decimal | None, Decimal | None]:
        # Stop on the losing side, target on the winning side; neither if they cannot be ordered.
        atr = self._atr.value
        if atr is None or atr <= 0.0:
            return None, None
        sign = 1.0 if side is Side.BUY else -1.0
        stop_atr, take_atr = self._exits
        stop = close - sign * stop_atr * atr
        take = close + sign * take_atr * atr
        if min(stop, take) <= 0.0:
            return None, None
        entry, stop_d, take_d = _price(close), _price(stop), _price(take)
        low, high = (stop_d, take_d) if side is Side.BUY else (take_d, stop_d)
        if not low < entry < high:
            return None, None
        return stop_d, take_d


def _price(value: float) -> Decimal:
    # Ten significant digits: more than any exchange tick needs, and the same on every run.
    return Decimal(f"{value:.10g}")
