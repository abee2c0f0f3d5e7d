"""One symbol's position as the portfolio keeps it: netting, fees, mark, stop and opening time.

Netting (one-way mode, flips at the fill price) is ``core.matching.Position``'s, the same the
paper exchange settles with, so the account we keep and the one the simulator keeps agree. A
holding adds what the account side needs on top: fees, the last price, the opening signal's stop,
take-profit and ATR, and when the current position opened (a flip opens a new one; closing or a
flip forgets the levels).
"""

from __future__ import annotations

from decimal import Decimal

from tradestream.core.matching.position import Position
from tradestream.schemas.account import Execution, PositionChanged, PositionState

_ZERO = Decimal(0)


class Holding:
    """Hold one symbol's netted position and everything the account state reports about it."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.position = Position(symbol)
        self.fees_paid = _ZERO
        self.mark_price = _ZERO
        self.stop_loss: Decimal | None = None
        self.take_profit: Decimal | None = None
        self.atr: Decimal | None = None
        self.opened_ts_ms: int | None = None
        self.updated_ts_ms = 0

    @classmethod
    def from_state(cls, state: PositionState) -> Holding:
        """Rebuild a holding from a published or persisted position state."""
        holding = cls(state.symbol)
        holding.position = Position(
            state.symbol,
            size=state.size,
            entry_price=state.entry_price,
            realized_pnl=state.realized_pnl,
        )
        holding.fees_paid = state.fees_paid
        holding.mark_price = state.mark_price
        holding.stop_loss = state.stop_loss
        holding.take_profit = state.take_profit
        holding.atr = state.atr
        holding.opened_ts_ms = state.opened_ts_ms
        holding.updated_ts_ms = state.updated_ts_ms
        return holding

    @property
    def unrealized_pnl(self) -> Decimal:
        """Return the PnL of closing the position at the last price."""
        if self.position.is_flat:
            return _ZERO
        return self.position.unrealized_pnl(self.mark_price)

    def apply(self, execution: Execution) -> Decimal:
        """Net one execution in, book its fee, and return the PnL it realized."""
        before = self.position.size
        pnl = self.position.apply_fill(execution.side, execution.qty, execution.price)
        after = self.position.size
        self.fees_paid += execution.fee
        self.mark_price = execution.price
        opens = after != 0 and (before == 0 or (before > 0) != (after > 0))
        if after == 0:
            self.opened_ts_ms = None
        if after == 0 or opens:  # a new position starts without the last one's levels
            self.stop_loss = self.take_profit = self.atr = None
        if opens:
            self.opened_ts_ms = execution.exec_ts_ms
        self.updated_ts_ms = max(self.updated_ts_ms, execution.exec_ts_ms)
        return pnl

    def set_mark(self, price: Decimal, ts_ms: int) -> None:
        """Value the position at ``price`` from now on."""
        if price <= 0:
            raise ValueError(f"{self.symbol}: a mark must be positive, got {price}")
        self.mark_price = price
        self.updated_ts_ms = max(self.updated_ts_ms, ts_ms)

    def set_stop_loss(self, price: Decimal | None, ts_ms: int) -> None:
        """Record the stop the exchange holds for the position (None: no stop)."""
        if price is not None and price <= 0:
            raise ValueError(f"{self.symbol}: a stop must be positive, got {price}")
        self.stop_loss = price
        self.updated_ts_ms = max(self.updated_ts_ms, ts_ms)

    def set_levels(
        self,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
        ts_ms: int,
        *,
        atr: Decimal | None = None,
    ) -> None:
        """Take an opening signal's levels and ATR; one not given (None) keeps the one held."""
        for name, price in (("stop", stop_loss), ("take-profit", take_profit), ("ATR", atr)):
            if price is not None and price <= 0:
                raise ValueError(f"{self.symbol}: a {name} must be positive, got {price}")
        if stop_loss is not None:
            self.stop_loss = stop_loss
        if take_profit is not None:
            self.take_profit = take_profit
        if atr is not None:
            self.atr = atr
        self.updated_ts_ms = max(self.updated_ts_ms, ts_ms)

    def state(self) -> PositionState:
        """Return the holding as a position state."""
        return PositionState.model_validate(self._fields())

    def changed(self, cause: str) -> PositionChanged:
        """Return the holding as the event that reports a change caused by ``cause``."""
        return PositionChanged.model_validate({**self._fields(), "cause": cause})

    # The fields PositionState and PositionChanged share.
    def _fields(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "size": self.position.size,
            "entry_price": self.position.entry_price,
            "mark_price": self.mark_price,
            "realized_pnl": self.position.realized_pnl,
            "fees_paid": self.fees_paid,
            "unrealized_pnl": self.unrealized_pnl,
            "stop_loss": self.stop_loss,
            "take_profit": self.take_profit,
            "atr": self.atr,
            "opened_ts_ms": self.opened_ts_ms,
            "updated_ts_ms": self.updated_ts_ms,
        }
