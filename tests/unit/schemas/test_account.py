"""Account records: consistent positions, derived equity and drawdown, executions from reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support.trading import account, position
from tradestream.schemas.account import AccountState, Execution, PositionChanged, PositionState
from tradestream.schemas.exchange import ExecutionSnapshot
from tradestream.schemas.orders import OrderFilled, Side

D = Decimal
OPEN: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "size": "-0.5",
    "entry_price": "100",
    "mark_price": "90",
    "unrealized_pnl": "5",
    "opened_ts_ms": 1,
    "updated_ts_ms": 2,
}


def test_an_open_position_reports_side_notional_and_pnl() -> None:
    state = PositionState.model_validate(OPEN)

    assert (state.side, state.notional, state.is_open) == (Side.SELL, D(45), True)
    assert state.unrealized_pnl == D(5)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"unrealized_pnl": "4"}, "size x move"),
        ({"opened_ts_ms": None}, "needs an entry price"),
        ({"mark_price": "0", "unrealized_pnl": "-50"}, "needs an entry price"),
        ({"size": "0", "unrealized_pnl": "0"}, "flat position has no entry"),
        ({"stop_loss": "0"}, "greater than 0"),
        ({"take_profit": "-1"}, "greater than 0"),
        ({"atr": "0"}, "greater than 0"),
        ({"atr": "Infinity"}, "finite"),
    ],
)
def test_position_state_must_agree_with_itself(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        PositionState.model_validate({**OPEN, **change})


def test_position_changed_names_its_cause_and_round_trips() -> None:
    event = PositionChanged.model_validate({**OPEN, "cause": "exec-1"})

    assert PositionChanged.model_validate_json(event.model_dump_json()) == event


def test_a_position_carries_its_signals_levels_and_older_records_read_without_them() -> None:
    older = PositionChanged.model_validate({**OPEN, "cause": "exec-1"})
    levelled = PositionChanged.model_validate(
        {**OPEN, "cause": "exec-1", "stop_loss": "105", "take_profit": "80", "atr": "1.25"}
    )

    assert (older.stop_loss, older.take_profit, older.atr) == (None, None, None)
    assert (levelled.stop_loss, levelled.take_profit, levelled.atr) == (D(105), D(80), D("1.25"))
    assert PositionChanged.model_validate_json(levelled.model_dump_json()) == levelled


def test_account_derives_equity_exposure_and_drawdown_from_its_positions() -> None:
    state = account(
        position("BTCUSDT", "2", "100", mark="110", realized="30", fees="3"),
        position("ETHUSDT", "-1", "50", mark="60", fees="1"),
        position("SOLUSDT", "0", realized="-7"),
        balance=1000,
        day_open=1050,
        peak=1100,
    )

    assert state.realized_pnl == D(23)
    assert state.fees_paid == D(4)
    assert state.unrealized_pnl == D(10)
    assert state.equity == D(1029)
    assert state.daily_pnl == D(-21)
    assert state.gross_exposure == D(280)
    assert [p.symbol for p in state.open_positions] == ["BTCUSDT", "ETHUSDT"]
    assert state.notional_by_symbol == {"BTCUSDT": D(220), "ETHUSDT": D(60)}
    assert state.drawdown == D(71) / D(1100)
    assert state.size("ETHUSDT") == D(-1)
    assert state.size("DOGEUSDT") == 0
    assert state.position("DOGEUSDT") is None


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"equity_peak": "9000"}, "below equity"),
        ({"positions": [OPEN, OPEN]}, "each symbol once"),
        ({"starting_balance": "-1"}, "greater than or equal to 0"),
    ],
)
def test_account_state_refuses_contradictions(change: dict[str, Any], complaint: str) -> None:
    base = account().model_dump()
    with pytest.raises(ValidationError, match=complaint):
        AccountState.model_validate({**base, **change})


def test_a_peak_at_zero_means_no_drawdown() -> None:
    assert account(balance=0).drawdown == 0


def test_executions_come_from_fill_events_and_exchange_snapshots() -> None:
    fill = OrderFilled(
        order_link_id="momentum-1",
        symbol="BTCUSDT",
        occurred_at_ms=7,
        exec_id="e-1",
        side=Side.BUY,
        exec_qty=D("0.5"),
        exec_price=D(100),
        exec_fee=D("0.03"),
        is_maker=False,
        cum_qty=D("0.5"),
        avg_price=D(100),
        leaves_qty=D(0),
    )
    snapshot = ExecutionSnapshot(
        exec_id="e-1",
        order_link_id="momentum-1",
        order_id="1",
        symbol="BTCUSDT",
        side=Side.BUY,
        exec_qty=D("0.5"),
        exec_price=D(100),
        exec_fee=D("0.03"),
        is_maker=False,
        exec_time_ms=7,
    )

    assert Execution.from_fill(fill) == Execution.from_snapshot(snapshot)
    assert Execution.from_fill(fill).fee == D("0.03")
