"""The simulated USDT account: wallet balance, netted positions, marks and margin.

Cross margin at one leverage: a position ties up ``|size| * entry / leverage`` of initial margin
and open orders tie up the margin of the part that would open a position. Unrealized losses
reduce what is available, unrealized gains do not, so a paper run never trades on profit it has
not realized. Liquidation is not simulated.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from tradestream.core.matching.position import Position
from tradestream.schemas.orders import Side

_ZERO = Decimal(0)
_POSITIONS = TypeAdapter(list[Position])


class Account:
    """Hold the cash and positions that fills settle into."""

    def __init__(self, initial_balance: Decimal, leverage: Decimal) -> None:
        if initial_balance < 0 or leverage <= 0:
            raise ValueError(f"need balance >= 0 and leverage > 0: {initial_balance}, {leverage}")
        self.initial_balance = initial_balance
        self.leverage = leverage
        self.wallet_balance = initial_balance
        self.fees_paid = _ZERO
        self._positions: dict[str, Position] = {}
        self._marks: dict[str, Decimal] = {}

    def position(self, symbol: str) -> Position:
        """Return the position of ``symbol`` (flat if never traded)."""
        position = self._positions.get(symbol)
        if position is None:
            position = self._positions[symbol] = Position(symbol)
        return position

    def open_positions(self) -> tuple[Position, ...]:
        """Return every position that is not flat."""
        return tuple(p for p in self._positions.values() if not p.is_flat)

    def set_mark(self, symbol: str, price: Decimal) -> None:
        """Set the price that values ``symbol``'s position."""
        if price <= 0:
            raise ValueError(f"{symbol}: mark price must be positive, got {price}")
        self._marks[symbol] = price

    def mark(self, symbol: str) -> Decimal | None:
        """Return the last mark of ``symbol``, if any."""
        return self._marks.get(symbol)

    def settle_fill(
        self, symbol: str, side: Side, qty: Decimal, price: Decimal, fee: Decimal
    ) -> Decimal:
        """Net a fill into the position, book its PnL and fee, and return the realized PnL."""
        pnl = self.position(symbol).apply_fill(side, qty, price)
        self.wallet_balance += pnl - fee
        self.fees_paid += fee
        return pnl

    def unrealized_pnl(self) -> Decimal:
        """Return the PnL of all positions at their marks (at entry when never marked)."""
        marks = self._marks
        positions = self._positions.values()
        return sum((p.unrealized_pnl(marks.get(p.symbol, p.entry_price)) for p in positions), _ZERO)

    def equity(self) -> Decimal:
        """Return the wallet balance plus unrealized PnL."""
        return self.wallet_balance + self.unrealized_pnl()

    def position_margin(self) -> Decimal:
        """Return the initial margin held by open positions."""
        return sum(
            (abs(p.size) * p.entry_price / self.leverage for p in self._positions.values()),
            _ZERO,
        )

    def available_balance(self, order_margin: Decimal) -> Decimal:
        """Return what new orders may use, given the margin open orders already hold."""
        losses = min(self.unrealized_pnl(), _ZERO)
        return self.wallet_balance + losses - self.position_margin() - order_margin

    def state(self) -> dict[str, Any]:
        """Describe cash, positions and marks as JSON-able data (Decimals as strings)."""
        return {
            "initial_balance": str(self.initial_balance),
            "wallet_balance": str(self.wallet_balance),
            "fees_paid": str(self.fees_paid),
            "positions": _POSITIONS.dump_python(list(self._positions.values()), mode="json"),
            "marks": {symbol: str(mark) for symbol, mark in self._marks.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back the cash, positions and marks ``state()`` described (leverage stays)."""
        self.initial_balance = Decimal(state["initial_balance"])
        self.wallet_balance = Decimal(state["wallet_balance"])
        self.fees_paid = Decimal(state["fees_paid"])
        positions = _POSITIONS.validate_python(state["positions"])
        self._positions = {p.symbol: p for p in positions}
        self._marks = {symbol: Decimal(mark) for symbol, mark in state["marks"].items()}
