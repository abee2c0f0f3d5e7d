"""Which events of the trading topics the records agent lands in PostgreSQL."""

from __future__ import annotations

import pytest

from tradestream import app  # the app first: the agents' modules bind its topics
from tradestream.agents.trading_records import parse_record
from tradestream.schemas.protection import StalePriceRaised
from tradestream.schemas.trading import (
    KillSwitchReset,
    KillSwitchTrigger,
    KillSwitchTripped,
    TradingState,
    TradingStateChanged,
)
from tradestream.streams import topics

ACCOUNT = app.settings.scoped(topics.ACCOUNT_EVENTS.name)
_T = TradingState
STATE_EVENTS = [
    KillSwitchTripped(episode=2, from_state=_T.ACTIVE, to_state=_T.HALTED, reason="daily loss",
                      actor="risk", changed_ts_ms=1_000, trigger=KillSwitchTrigger.DAILY_LOSS),
    KillSwitchReset(episode=2, from_state=_T.HALTED, to_state=_T.REDUCING, reason="checked",
                    actor="alice", changed_ts_ms=2_000, baseline_equity=9_500,
                    baseline_ts_ms=2_000),
    TradingStateChanged(episode=2, from_state=_T.REDUCING, to_state=_T.ACTIVE, reason="done",
                        actor="alice", changed_ts_ms=3_000, baseline_equity=9_500,
                        baseline_ts_ms=2_000),
]  # fmt: skip


@pytest.mark.parametrize("event", STATE_EVENTS, ids=lambda e: e.kind)
def test_every_trading_state_change_is_a_record(
    event: KillSwitchTripped | KillSwitchReset | TradingStateChanged,
) -> None:
    assert parse_record(ACCOUNT, event.model_dump_json().encode()) == event


def test_an_order_end_on_the_account_topic_is_risk_s_not_a_record() -> None:
    ended = b'{"kind":"order_expired","order_link_id":"bench-1","symbol":"BTCUSDT"}'

    assert parse_record(ACCOUNT, ended) is None


def test_a_protection_record_is_a_record() -> None:
    alert = StalePriceRaised(symbol="BTCUSDT", episode=1, age_s=31.5, freshness="critical",
                             positions_affected=("BTCUSDT:1",), ts_ms=2_000)  # fmt: skip
    topic = app.settings.scoped(topics.PROTECTION_EVENTS.name)

    assert parse_record(topic, alert.model_dump_json().encode()) == alert
