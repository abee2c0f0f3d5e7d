"""The risk desk keeps its account and instruments between messages without changing answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import T0
from tradestream import app  # the app first: the agents' modules bind its topics
from tradestream.agents.trading_desk import SIGNALS_NAME, RiskDesk, risk_config
from tradestream.core.errors import BadInputError
from tradestream.core.portfolio.equity import DAY_MS
from tradestream.core.portfolio.portfolio import Portfolio
from tradestream.schemas.orders import Side
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
