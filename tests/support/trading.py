"""Factories for the trading half's tests: signals, executions, accounts, instruments, orders.

Numbers may be written as strings or ints; they become ``Decimal``. Ids are fresh unless given.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from tradestream.core.risk.proposal import PendingOrder, ProposedOrder, RiskContext, build_context
from tradestream.schemas.account import AccountState, Execution, PositionState
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal, TradingState

Number = str | int | Decimal
D = Decimal
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the start of a trading day
_ids = itertools.count(1)


def dec(value: Number | None) -> Decimal | None:
    """Return ``value`` as a Decimal (None stays None)."""
    return None if value is None else Decimal(str(value))


def signal(
    side: Side = Side.BUY,
    symbol: str = "BTCUSDT",
    *,
    entry: Number | None = "100",
    stop: Number | None = None,
    take_profit: Number | None = None,
    notional: Number | None = None,
    reduce_only: bool = False,
    signal_id: str | None = None,
    strategy: str = "momentum",
    strength: float = 1.0,
    indicators: dict[str, float] | None = None,
    ts: int = T0,
) -> Signal:
    """Build a signal; a fresh id unless one is given."""
    return Signal(
        signal_id=signal_id or f"sig-{next(_ids)}",
        strategy=strategy,
        symbol=symbol,
        side=side,
        strength=strength,
        entry_price=dec(entry),
        stop_loss=dec(stop),
        take_profit=dec(take_profit),
        notional_usdt=dec(notional),
        reduce_only=reduce_only,
        reason="test",
        created_ts_ms=ts,
        indicators=indicators or {},
    )


def execution(
    side: Side,
    qty: Number,
    price: Number,
    *,
    symbol: str = "BTCUSDT",
    fee: Number = 0,
    ts: int = T0,
    exec_id: str | None = None,
) -> Execution:
    """Build an execution; a fresh execution id unless one is given."""
    return Execution(
        exec_id=exec_id or f"exec-{next(_ids)}",
        symbol=symbol,
        side=side,
        qty=Decimal(str(qty)),
        price=Decimal(str(price)),
        fee=Decimal(str(fee)),
        exec_ts_ms=ts,
    )


def position(
    symbol: str,
    size: Number,
    entry: Number = "100",
    *,
    mark: Number | None = None,
    stop: Number | None = None,
    realized: Number = 0,
    fees: Number = 0,
    ts: int = T0,
) -> PositionState:
    """Build a position marked at ``mark`` (default: at entry); flat when ``size`` is 0."""
    signed = Decimal(str(size))
    entry_price = Decimal(str(entry)) if signed else Decimal(0)
    mark_price = Decimal(str(mark)) if mark is not None else entry_price
    return PositionState(
        symbol=symbol,
        size=signed,
        entry_price=entry_price,
        mark_price=mark_price,
        realized_pnl=Decimal(str(realized)),
        fees_paid=Decimal(str(fees)),
        unrealized_pnl=signed * (mark_price - entry_price),
        stop_loss=dec(stop),
        opened_ts_ms=ts if signed else None,
        updated_ts_ms=ts,
    )


def account(
    *positions: PositionState,
    balance: Number = 10_000,
    day_open: Number | None = None,
    peak: Number | None = None,
    ts: int = T0,
) -> AccountState:
    """Build an account holding ``positions``; the day opens and peaks at the balance by default."""
    start = Decimal(str(balance))
    ordered = tuple(sorted(positions, key=lambda p: p.symbol))
    equity = start + sum((p.realized_pnl - p.fees_paid + p.unrealized_pnl for p in ordered), D(0))
    return AccountState(
        as_of_ts_ms=ts,
        starting_balance=start,
        positions=ordered,
        day_start_ms=ts - ts % 86_400_000,
        day_start_equity=Decimal(str(day_open)) if day_open is not None else start,
        equity_peak=Decimal(str(peak)) if peak is not None else max(start, equity),
    )


def instrument(
    symbol: str = "BTCUSDT",
    *,
    step: Number = "0.001",
    min_qty: Number = "0.001",
    min_notional: Number = "5",
    max_qty: Number | None = None,
    tick: Number = "0.1",
) -> InstrumentInfo:
    """Build an instrument's steps (BTCUSDT-like by default)."""
    return InstrumentInfo(
        symbol=symbol,
        tick_size=Decimal(str(tick)),
        qty_step=Decimal(str(step)),
        min_qty=Decimal(str(min_qty)),
        max_qty=dec(max_qty),
        min_notional=Decimal(str(min_notional)),
    )


def context(
    state: AccountState | None = None,
    *,
    pending: tuple[PendingOrder, ...] = (),
    entries: dict[str, int] | None = None,
    trading: TradingState = TradingState.ACTIVE,
    now: int = T0,
    assumed_stop: Number = "0.05",
) -> RiskContext:
    """Build what the risk rules read, from an account (empty by default) and pending orders."""
    return build_context(
        state if state is not None else account(),
        pending,
        entries=entries or {},
        trading_state=trading,
        now_ms=now,
        assumed_stop_fraction=Decimal(str(assumed_stop)),
    )


def proposed(
    side: Side = Side.BUY,
    qty: Number = 1,
    price: Number = 100,
    *,
    before: Number = 0,
    symbol: str = "BTCUSDT",
    stop: Number | None = None,
    reduce_only: bool = False,
) -> ProposedOrder:
    """Build the order a rule checks."""
    return ProposedOrder(
        symbol=symbol,
        side=side,
        qty=Decimal(str(qty)),
        price=Decimal(str(price)),
        size_before=Decimal(str(before)),
        reduce_only=reduce_only,
        stop_loss=dec(stop),
    )


def pending_order(
    symbol: str,
    side: Side = Side.BUY,
    qty: Number = 1,
    price: Number = 100,
    *,
    account_size: Number = 0,
    ts: int = T0,
    stop: Number | None = None,
    link_id: str | None = None,
) -> PendingOrder:
    """Build an approved order the account does not show yet."""
    return PendingOrder(
        order_link_id=link_id or f"pending-{next(_ids)}",
        symbol=symbol,
        side=side,
        qty=Decimal(str(qty)),
        price=Decimal(str(price)),
        stop_loss=dec(stop),
        account_size=Decimal(str(account_size)),
        approved_ts_ms=ts,
    )
