"""What protection looks at: one position, one price observation, and level arithmetic in ticks.

A level (a stop, a take-profit, an aged target) is a price the exchange must accept, so it is a
whole number of ticks. Levels are rounded in the position's favour: up for a long, down for a
short. For a stop that means tighter (never risk more than configured); for a take-profit or an
aged target it means never accept less than configured. Percentages are fractions (``0.015`` is
1.5 %) and all arithmetic is ``Decimal``, so the same inputs give the same level to the tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum

from tradestream.schemas.account import PositionState
from tradestream.schemas.orders import Side

ONE = Decimal(1)
ZERO = Decimal(0)


class PriceKind(StrEnum):
    """Which price an observation is: the last trade, the book's mid, or the exchange's mark."""

    LAST = "last"
    MID = "mid"
    MARK = "mark"


@dataclass(frozen=True, slots=True)
class PriceObservation:
    """One price of one symbol, of one kind, at the time the market (not we) stamped it."""

    symbol: str
    price: Decimal
    kind: PriceKind
    ts_ms: int

    def __post_init__(self) -> None:
        if self.price <= 0:
            raise ValueError(f"{self.symbol}: a price must be positive, got {self.price}")

    def age_s(self, now_ms: int) -> float:
        """Return how old the price is at ``now_ms``, in seconds (never negative)."""
        return max(now_ms - self.ts_ms, 0) / 1000


@dataclass(frozen=True, slots=True)
class PositionView:
    """The open position protection guards, with the instrument's steps and the signal's levels.

    ``side`` is the side that opened it (``Buy``: long). ``opened_ts_ms`` names the episode: a
    close and a re-open make a new one, so every close id derives from it. ``stop_loss`` and
    ``take_profit`` are the opening signal's suggestions (None: use the configured distances);
    ``atr`` is its ATR in price units, which makes the trailing distance ``atr_multiple`` ATRs
    (None: the ``callback`` percentage, unless an ATR comes with the prices).
    """

    symbol: str
    side: Side
    qty: Decimal
    entry_price: Decimal
    opened_ts_ms: int
    tick_size: Decimal
    qty_step: Decimal
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    atr: Decimal | None = None

    def __post_init__(self) -> None:
        if self.qty <= 0 or self.entry_price <= 0:
            raise ValueError(f"{self.symbol}: an open position needs a qty and an entry price")
        if self.tick_size <= 0 or self.qty_step <= 0:
            raise ValueError(f"{self.symbol}: tick size and qty step must be positive")
        if self.atr is not None and not self.atr > 0:
            raise ValueError(f"{self.symbol}: an ATR must be positive, got {self.atr}")

    @classmethod
    def from_state(
        cls,
        state: PositionState,
        *,
        tick_size: Decimal,
        qty_step: Decimal,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        atr: Decimal | None = None,
    ) -> PositionView | None:
        """Return the view of a published position, or None when it is flat."""
        if state.side is None or state.opened_ts_ms is None:
            return None
        return cls(
            symbol=state.symbol,
            side=state.side,
            qty=abs(state.size),
            entry_price=state.entry_price,
            opened_ts_ms=state.opened_ts_ms,
            tick_size=tick_size,
            qty_step=qty_step,
            stop_loss=stop_loss,
            take_profit=take_profit,
            atr=atr,
        )

    @property
    def long(self) -> bool:
        """Tell whether the position gains when the price rises."""
        return self.side is Side.BUY

    @property
    def episode(self) -> int:
        """Return the number that names this opening of the position (its opening time)."""
        return self.opened_ts_ms

    @property
    def key(self) -> str:
        """Return ``SYMBOL:episode``, the position's key in records and tables."""
        return f"{self.symbol}:{self.opened_ts_ms}"

    def profit(self, price: Decimal) -> Decimal:
        """Return the move from entry to ``price`` in the position's favour, as a fraction."""
        move = (price - self.entry_price) / self.entry_price
        return move if self.long else -move

    def level(self, fraction: Decimal) -> Decimal:
        """Return the price ``fraction`` in the money from entry (negative: out of it), in ticks."""
        raw = self.entry_price * (ONE + fraction if self.long else ONE - fraction)
        return round_level(raw, self.tick_size, long=self.long)

    def reached(self, price: Decimal, level: Decimal) -> bool:
        """Tell whether ``price`` is at ``level`` or beyond it in the position's favour."""
        return price >= level if self.long else price <= level

    def crossed(self, price: Decimal, stop: Decimal) -> bool:
        """Tell whether ``price`` is at ``stop`` or beyond it against the position."""
        return price <= stop if self.long else price >= stop

    def tighter(self, a: Decimal, b: Decimal) -> Decimal:
        """Return the stop of the two that is closer to the money (higher for a long)."""
        return max(a, b) if self.long else min(a, b)

    def better(self, a: Decimal, b: Decimal) -> Decimal:
        """Return the price of the two that is better for the position (higher for a long)."""
        return max(a, b) if self.long else min(a, b)


def round_level(price: Decimal, tick: Decimal, *, long: bool) -> Decimal:
    """Return ``price`` as a whole number of ``tick``s, rounded in the position's favour."""
    rounding = ROUND_CEILING if long else ROUND_FLOOR
    return ((price / tick).to_integral_value(rounding=rounding) * tick).quantize(tick)


def round_qty(qty: Decimal, step: Decimal) -> Decimal:
    """Return ``qty`` as a whole number of ``step``s, rounded towards zero (never over-close)."""
    return ((qty / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(step)


def hours_ms(hours: Decimal) -> int:
    """Return a configured number of hours in milliseconds."""
    return int(hours * 3_600_000)
