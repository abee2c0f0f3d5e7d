"""The account as the positions side sees it: executions in, positions and account state out.

The positions agent (per symbol) applies ``Execution`` records and publishes ``PositionChanged``
on the account topic (one partition); the risk agent folds those into an ``AccountState``. The
backtester does both in one process with the same core objects. Money is ``Decimal``; sizes are
signed (long > 0, short < 0, one-way mode); times are integer milliseconds since the epoch.

``AccountState`` holds facts only (balance, positions, day start, peak) and derives equity, PnL,
exposure and drawdown as properties, so that no published snapshot can disagree with itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from tradestream.schemas.exchange import ExecutionSnapshot
from tradestream.schemas.orders import (
    Identifier,
    OrderFilled,
    OrderLinkId,
    OrderPartiallyFilled,
    Price,
    Qty,
    Side,
    Symbol,
    TimestampMs,
)

NonNegative = Annotated[Decimal, Field(ge=0)]
_ZERO = Decimal(0)


class _Record(BaseModel, frozen=True, extra="forbid"):
    """Share the frozen, closed shape of every account record."""


class Execution(_Record):
    """One fill of one order, as the positions side applies it (once per ``exec_id``)."""

    exec_id: Identifier
    order_link_id: OrderLinkId | None = None
    symbol: Symbol
    side: Side
    qty: Qty
    price: Price
    fee: Decimal = _ZERO
    exec_ts_ms: TimestampMs

    @classmethod
    def from_fill(cls, event: OrderPartiallyFilled | OrderFilled) -> Execution:
        """Take the execution out of a fill event on ``exec.reports``."""
        return cls(
            exec_id=event.exec_id,
            order_link_id=event.order_link_id,
            symbol=event.symbol,
            side=event.side,
            qty=event.exec_qty,
            price=event.exec_price,
            fee=event.exec_fee,
            exec_ts_ms=event.occurred_at_ms,
        )

    @classmethod
    def from_snapshot(cls, snapshot: ExecutionSnapshot) -> Execution:
        """Take the execution out of a reconciliation answer from the exchange."""
        return cls(
            exec_id=snapshot.exec_id,
            order_link_id=snapshot.order_link_id,
            symbol=snapshot.symbol,
            side=snapshot.side,
            qty=snapshot.exec_qty,
            price=snapshot.exec_price,
            fee=snapshot.exec_fee,
            exec_ts_ms=snapshot.exec_time_ms,
        )


class PositionState(_Record):
    """One symbol's netted position, its PnL and fees so far, valued at ``mark_price``.

    ``stop_loss`` and ``take_profit`` are the levels of the signal that opened (or last added to)
    the position, None when it gave none; protection acts on them, risk counts from the stop.
    ``atr`` is that signal's ATR (price units, None when it gave none): protection's trailing
    distance in ATRs.
    """

    symbol: Symbol
    size: Decimal = _ZERO
    entry_price: NonNegative = _ZERO
    mark_price: NonNegative = _ZERO
    realized_pnl: Decimal = _ZERO
    fees_paid: Decimal = _ZERO
    unrealized_pnl: Decimal = _ZERO
    stop_loss: Price | None = None
    take_profit: Price | None = None
    atr: Price | None = None
    opened_ts_ms: TimestampMs | None = None
    updated_ts_ms: TimestampMs = 0

    @model_validator(mode="after")
    def _check_consistent(self) -> Self:
        if self.size == 0:
            if self.entry_price != 0 or self.opened_ts_ms is not None:
                raise ValueError("a flat position has no entry price and no opening time")
        elif self.entry_price <= 0 or self.mark_price <= 0 or self.opened_ts_ms is None:
            raise ValueError("an open position needs an entry price, a mark and an opening time")
        expected = self.size * (self.mark_price - self.entry_price)
        if self.unrealized_pnl != expected:
            raise ValueError(f"unrealized_pnl {self.unrealized_pnl} is not size x move {expected}")
        return self

    @property
    def is_open(self) -> bool:
        """Tell whether there is a position."""
        return self.size != 0

    @property
    def side(self) -> Side | None:
        """Return the side that opened the position, or None when flat."""
        if self.size == 0:
            return None
        return Side.BUY if self.size > 0 else Side.SELL

    @property
    def notional(self) -> Decimal:
        """Return the position's absolute value at the mark."""
        return abs(self.size) * self.mark_price


class PositionChanged(PositionState):
    """A position changed (execution, mark or stop); ``cause`` names what changed it."""

    kind: Literal["position_changed"] = "position_changed"
    cause: Identifier


class AccountState(_Record):
    """The account at one moment: what risk limits, the kill switch and reports read."""

    as_of_ts_ms: TimestampMs
    starting_balance: NonNegative
    positions: tuple[PositionState, ...] = ()
    day_start_ms: TimestampMs
    day_start_equity: Decimal
    equity_peak: Decimal

    @field_validator("positions")
    @classmethod
    def _unique_sorted(cls, value: tuple[PositionState, ...]) -> tuple[PositionState, ...]:
        symbols = [p.symbol for p in value]
        if symbols != sorted(set(symbols)):
            raise ValueError("positions must be sorted by symbol and list each symbol once")
        return value

    @model_validator(mode="after")
    def _check_peak(self) -> Self:
        if self.equity_peak < self.equity:
            raise ValueError(f"equity peak {self.equity_peak} is below equity {self.equity}")
        return self

    @property
    def realized_pnl(self) -> Decimal:
        """Return the PnL realized by every position so far."""
        return sum((p.realized_pnl for p in self.positions), _ZERO)

    @property
    def fees_paid(self) -> Decimal:
        """Return the fees paid so far (rebates negative)."""
        return sum((p.fees_paid for p in self.positions), _ZERO)

    @property
    def unrealized_pnl(self) -> Decimal:
        """Return the PnL of closing every open position at its mark."""
        return sum((p.unrealized_pnl for p in self.positions), _ZERO)

    @property
    def equity(self) -> Decimal:
        """Return starting balance + realized PnL - fees + unrealized PnL."""
        return self.starting_balance + self.realized_pnl - self.fees_paid + self.unrealized_pnl

    @property
    def daily_pnl(self) -> Decimal:
        """Return the change in equity since the current trading day started."""
        return self.equity - self.day_start_equity

    @property
    def drawdown(self) -> Decimal:
        """Return how far equity is below its peak, as a fraction of the peak (0 at the peak)."""
        if self.equity_peak <= 0:
            return _ZERO
        return (self.equity_peak - self.equity) / self.equity_peak

    @property
    def gross_exposure(self) -> Decimal:
        """Return the sum of the absolute notionals of the open positions."""
        return sum((p.notional for p in self.positions), _ZERO)

    @property
    def open_positions(self) -> tuple[PositionState, ...]:
        """Return the positions that are not flat."""
        return tuple(p for p in self.positions if p.is_open)

    @property
    def notional_by_symbol(self) -> dict[str, Decimal]:
        """Return each open position's absolute notional at its mark."""
        return {p.symbol: p.notional for p in self.positions if p.is_open}

    def position(self, symbol: str) -> PositionState | None:
        """Return the position of ``symbol``, or None if it never traded."""
        return next((p for p in self.positions if p.symbol == symbol), None)

    def size(self, symbol: str) -> Decimal:
        """Return the signed size held in ``symbol`` (0 when flat or never traded)."""
        position = self.position(symbol)
        return position.size if position is not None else _ZERO
