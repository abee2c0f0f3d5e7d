"""A netted position of one symbol: signed size, average entry price and realized PnL.

One-way mode, as our Bybit account uses: a buy adds to a long or reduces a short, and a fill
larger than the position closes it and opens the other side at the fill price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradestream.schemas.orders import Side

_ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    """Hold the signed size (long > 0), the average entry price and the PnL realized so far."""

    symbol: str
    size: Decimal = field(default=_ZERO)
    entry_price: Decimal = field(default=_ZERO)
    realized_pnl: Decimal = field(default=_ZERO)

    @property
    def is_flat(self) -> bool:
        """Tell whether there is no position."""
        return self.size == 0

    def reducible_qty(self, side: Side) -> Decimal:
        """Return how much an order on ``side`` can reduce the position without flipping it."""
        if side is Side.SELL and self.size > 0:
            return self.size
        if side is Side.BUY and self.size < 0:
            return -self.size
        return _ZERO

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Return the PnL of closing the whole position at ``mark``."""
        return self.size * (mark - self.entry_price)

    def apply_fill(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        """Net one fill into the position and return the PnL it realized."""
        signed = qty if side is Side.BUY else -qty
        if self.size == 0 or (self.size > 0) == (signed > 0):
            new_size = self.size + signed
            self.entry_price = (abs(self.size) * self.entry_price + qty * price) / abs(new_size)
            self.size = new_size
            return _ZERO
        direction = 1 if self.size > 0 else -1
        closed = min(qty, abs(self.size))
        pnl = closed * (price - self.entry_price) * direction
        self.size += signed
        if self.size == 0:
            self.entry_price = _ZERO
        elif (self.size > 0) != (direction > 0):
            self.entry_price = price
        self.realized_pnl += pnl
        return pnl
