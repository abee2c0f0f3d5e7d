"""The risk desk keeps its account and instruments between messages without changing answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.trading import T0
from tradestream import app  # the app first: the agents' modules bind its topics
from tradestream.agents.trading_desk import ACCOUNT_NAME, SIGNALS_NAME, RiskDesk, risk_config
from tradestream.core.errors import BadInputError
from tradestream.core.portfolio.equity import DAY_MS
from tradestream.core.portfolio.portfolio import Portfolio
from tradestream.schemas.orders import Side
from tradestream.schemas.reconciliation import WalletObserved
from tradestream.schemas.trading import Signal


def signal(i: int, symbol: str = "BTCUSDT") -> bytes:
    wish = Signal(signal_id=f"s-{i}", strategy="unit", symbol=symbol, side=Side.BUY,
                  entry_price=Decimal(65_000), reason="unit", created_ts_ms=T0)  # fmt: skip
    return wish.model_dump_json().encode()


def test_the_account_is_as_of_each_message_and_opens_a_day_at_the_first_past_its_start() -> None:
    desk = RiskDesk()
    hour = risk_config().daily_reset_hour_utc
    rebuilt = Portfolio(app.settings.paper_balance_usdt, day_start_hour_utc=hour)

    for now in (T0 + 1, T0 + 2, T0 + DAY_MS - 1, T0 + DAY_MS + 7, T0 + DAY_MS + 8, T0 + 3 * DAY_MS):
        assert desk.account(now) == rebuilt.state(now)


def test_a_signal_for_a_symbol_without_rules_is_bad_input_every_time() -> None:
    desk = RiskDesk()

    for i in range(2):
        with pytest.raises(BadInputError, match="no instrument rules for NOSUCHUSDT"):
            desk.on_message(SIGNALS_NAME, signal(i, "NOSUCHUSDT"), T0 + i)
    outcome = desk.on_message(SIGNALS_NAME, signal(3), T0 + 3)
    assert outcome is not None
    assert outcome.decision is not None
    assert outcome.decision.symbol == "BTCUSDT"


def wallet(equity: str, at_ms: int) -> bytes:
    return WalletObserved(equity=Decimal(equity), taken_at_ms=at_ms).model_dump_json().encode()


def test_the_exchange_s_equity_corrects_the_starting_balance_once_and_a_restart_keeps_it() -> None:
    store: dict[str, Any] = {}
    desk = RiskDesk(store)
    ours = desk.account(T0).equity
    theirs = str(ours + 1_234)  # e.g. a transfer in that no execution explains

    assert desk.on_message(ACCOUNT_NAME, wallet(theirs, T0), T0) is None  # seen once
    outcome = desk.on_message(ACCOUNT_NAME, wallet(theirs, T0 + 6_000), T0 + 6_000)

    assert outcome is not None
    [audit] = outcome.audits
    assert (audit.action, audit.subject, audit.symbol) == ("balance_corrected", "wallet", None)
    assert audit.after["equity"] == theirs
    assert desk.account(T0 + 6_000).equity == ours + 1_234
    assert desk.account(T0 + 6_000).daily_pnl == 0  # cash, not profit
    assert desk.on_message(ACCOUNT_NAME, wallet(theirs, T0 + 12_000), T0 + 12_000) is None

    restarted = RiskDesk(store)
    restarted.on_message(SIGNALS_NAME, signal(1), T0 + 13_000)  # builds the engine from the store
    assert restarted.account(T0 + 13_000).equity == ours + 1_234
