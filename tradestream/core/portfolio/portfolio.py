"""The account's positions, PnL and equity, built from executions and marks; no I/O, no clock.

Two drivers use it. The positions side (and the backtester) applies ``Execution`` records, once
per execution id, and marks; the risk side keeps a replica by applying the ``PositionChanged``
events the positions side publishes (newest per symbol wins). Both ask ``state(now_ms)`` for the
``AccountState`` that limits and the kill switch read. Every change first rolls the trading day
(at the event's time, with the equity carried over) and then raises the equity peak, so the same
events in the same order always give the same day PnL, peak and drawdown.

Equity is starting balance + realized PnL - fees + unrealized PnL. Positions are valued at the
last price seen for them: an execution's price or a later mark. Funding payments and transfers
are not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradestream.core.portfolio.equity import EquityCurve
from tradestream.core.portfolio.executions import DEFAULT_CAPACITY, SeenExecutions
from tradestream.core.portfolio.holding import Holding
from tradestream.schemas.account import AccountState, Execution, PositionChanged, PositionState

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What one execution did: nothing (a duplicate), or the position change to publish."""

    duplicate: bool
    realized_pnl: Decimal
    change: PositionChanged | None


class Portfolio:
    """Keep every symbol's position and the account's equity, day PnL and peak."""

    def __init__(
        self,
        starting_balance: Decimal,
        *,
        day_start_hour_utc: int = 0,
        dedup_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if starting_balance < 0:
            raise ValueError(f"the starting balance cannot be negative: {starting_balance}")
        self.starting_balance = starting_balance
        self._holdings: dict[str, Holding] = {}
        self._seen = SeenExecutions(dedup_capacity)
        self._curve = EquityCurve(day_start_hour_utc, starting_balance)

    @classmethod
    def restore(
        cls,
        state: AccountState,
        *,
        day_start_hour_utc: int = 0,
        seen_exec_ids: Iterable[str] = (),
        dedup_capacity: int = DEFAULT_CAPACITY,
    ) -> Portfolio:
        """Rebuild a portfolio from a persisted state and the execution ids it had applied."""
        portfolio = cls(
            state.starting_balance,
            day_start_hour_utc=day_start_hour_utc,
            dedup_capacity=dedup_capacity,
        )
        portfolio._holdings = {p.symbol: Holding.from_state(p) for p in state.positions}
        portfolio._seen = SeenExecutions(dedup_capacity, seen_exec_ids)
        portfolio._curve = EquityCurve(
            day_start_hour_utc,
            state.equity_peak,
            day_start_ms=state.day_start_ms,
            day_start_equity=state.day_start_equity,
        )
        return portfolio

    def adjust_balance(self, amount: Decimal) -> None:
        """Add cash no execution explains (``core/portfolio/balance.py``) to the account.

        The day's opening equity and the peak move with it: a deposit is not a day's profit,
        and a withdrawal is not a drawdown.
        """
        if self.starting_balance + amount < 0:
            raise ValueError(f"the starting balance cannot go below 0 by {amount}")
        self.starting_balance += amount
        curve = self._curve
        curve.peak += amount
        curve.day_start_equity += amount

    def apply_execution(self, execution: Execution) -> ExecutionResult:
        """Net one execution into its symbol's position, once per execution id."""
        if execution.exec_id in self._seen:
            return ExecutionResult(duplicate=True, realized_pnl=_ZERO, change=None)
        self._before(execution.exec_ts_ms)
        holding = self._holding(execution.symbol)
        pnl = holding.apply(execution)
        self._seen.add(execution.exec_id)
        self._after()
        return ExecutionResult(
            duplicate=False, realized_pnl=pnl, change=holding.changed(execution.exec_id)
        )

    def mark(self, symbol: str, price: Decimal, ts_ms: int) -> PositionChanged | None:
        """Value ``symbol``'s open position at ``price``; return None when nothing is open."""
        holding = self._holdings.get(symbol)
        if holding is None or holding.position.is_flat:
            return None
        self._before(ts_ms)
        holding.set_mark(price, ts_ms)
        self._after()
        return holding.changed("mark")

    def set_stop_loss(self, symbol: str, price: Decimal | None, ts_ms: int) -> PositionChanged:
        """Record the stop the exchange holds for ``symbol`` (its risk counts from it)."""
        holding = self._holding(symbol)
        holding.set_stop_loss(price, ts_ms)
        return holding.changed("stop_loss")

    def set_levels(
        self,
        symbol: str,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
        *,
        ts_ms: int,
        cause: str,
        atr: Decimal | None = None,
    ) -> PositionChanged | None:
        """Give ``symbol``'s open position its opening signal's levels and ATR; None when flat."""
        holding = self._holdings.get(symbol)
        if holding is None or holding.position.is_flat:
            return None
        holding.set_levels(stop_loss, take_profit, ts_ms, atr=atr)
        return holding.changed(cause)

    def apply_position(self, change: PositionState) -> bool:
        """Take a published position as this symbol's state unless ours is newer."""
        current = self._holdings.get(change.symbol)
        if current is not None and current.updated_ts_ms > change.updated_ts_ms:
            return False
        self._before(change.updated_ts_ms)
        self._holdings[change.symbol] = Holding.from_state(change)
        self._after()
        return True

    def position(self, symbol: str) -> PositionState:
        """Return ``symbol``'s position (flat if it never traded)."""
        holding = self._holdings.get(symbol)
        return holding.state() if holding is not None else PositionState(symbol=symbol)

    def equity(self) -> Decimal:
        """Return starting balance + realized PnL - fees + unrealized PnL."""
        holdings = self._holdings.values()
        realized = sum((h.position.realized_pnl - h.fees_paid for h in holdings), _ZERO)
        unrealized = sum((h.unrealized_pnl for h in holdings), _ZERO)
        return self.starting_balance + realized + unrealized

    def roll(self, now_ms: int) -> bool:
        """Start a new trading day if ``now_ms`` reached the boundary (the roll-over timer)."""
        return self._curve.roll(now_ms, self.equity())

    def state(self, now_ms: int) -> AccountState:
        """Roll the day if due and return the account as of ``now_ms``."""
        equity = self.equity()
        day_start_ms, day_start_equity = self._curve.day(now_ms, equity)
        self._curve.observe(equity)
        return AccountState(
            as_of_ts_ms=now_ms,
            starting_balance=self.starting_balance,
            positions=tuple(self._holdings[s].state() for s in sorted(self._holdings)),
            day_start_ms=day_start_ms,
            day_start_equity=day_start_equity,
            equity_peak=self._curve.peak,
        )

    def seen_exec_ids(self) -> tuple[str, ...]:
        """Return the execution ids applied, oldest first, to persist with the positions."""
        return self._seen.ids()

    def _holding(self, symbol: str) -> Holding:
        holding = self._holdings.get(symbol)
        if holding is None:
            holding = self._holdings[symbol] = Holding(symbol)
        return holding

    # Every change rolls the day at its own time first, then may set a new equity peak.
    def _before(self, ts_ms: int) -> None:
        self._curve.roll(ts_ms, self.equity())

    def _after(self) -> None:
        self._curve.observe(self.equity())
