"""The positions agent: an opening order's stop, take-profit and ATR go out on its position."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tradestream import app  # the app first: the agents' modules bind its topics
from tradestream.agents import trading_positions
from tradestream.core.orders import order_link_id_for
from tradestream.core.portfolio import Portfolio
from tradestream.schemas.account import PositionChanged
from tradestream.schemas.orders import OrderFilled, OrderType, PlaceOrder, Side
from tradestream.sinks.dead_letters import MemoryDeadLetterQueue
from tradestream.streams import topics

D = Decimal
T0 = 1_700_000_000_000
ORDERS = app.settings.scoped(topics.EXEC_ORDERS.name)
REPORTS = app.settings.scoped(topics.EXEC_REPORTS.name)
POSITIONS = app.settings.scoped(topics.POSITIONS.name)


@dataclass
class Message:
    topic: str


@dataclass
class Event:
    value: bytes
    message: Message


class Stream:
    """The agent's stream over a fixed list of (topic, record) events."""

    def __init__(self, records: Iterable[tuple[str, Any]]) -> None:
        self._events = [Event(r.model_dump_json().encode(), Message(t)) for t, r in records]

    async def events(self) -> AsyncIterator[Event]:
        for event in self._events:
            yield event


@dataclass
class Agent:
    table: dict[str, Any]
    sent: list[tuple[str, PositionChanged]]
    dlq: MemoryDeadLetterQueue

    async def run(self, *records: tuple[str, Any]) -> None:
        await trading_positions.track_positions(Stream(records))

    def published(self) -> list[PositionChanged]:
        """The position changes sent to protection, in order."""
        return [change for topic, change in self.sent if topic == POSITIONS]


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Agent:
    sent: list[tuple[str, PositionChanged]] = []
    dlq = MemoryDeadLetterQueue()
    portfolio = Portfolio(D(10_000))

    async def send_json(topic: Any, key: str, value: Any) -> None:
        if isinstance(value, PositionChanged):
            name = POSITIONS if topic is trading_positions.positions_topic else "account"
            sent.append((name, value))

    class Table(dict[str, Any]):
        def __missing__(self, key: str) -> dict[str, Any]:
            return {}  # as the Faust table's default

    table = Table()
    monkeypatch.setattr(trading_positions, "positions_by_symbol", table)
    monkeypatch.setattr(trading_positions, "positions", lambda: portfolio)
    monkeypatch.setattr(trading_positions, "send_json", send_json)
    monkeypatch.setattr(trading_positions, "dead_letter_queue", lambda: dlq)
    return Agent(table, sent, dlq)


def order(signal_id: str = "sig-1", side: Side = Side.BUY, **levels: str) -> PlaceOrder:
    return PlaceOrder(command_id=f"rd-{signal_id}", strategy="momentum", signal_id=signal_id,
                      symbol="SOLUSDT", side=side, order_type=OrderType.MARKET, qty=D(2),
                      reduce_only=side is Side.SELL, issued_at_ms=T0,
                      **{k: D(v) for k, v in levels.items()})  # fmt: skip


def fill(
    command: PlaceOrder, qty: str = "2", side: Side = Side.BUY, ts: int = T0 + 5
) -> OrderFilled:
    link = order_link_id_for(command)
    return OrderFilled(order_link_id=link, symbol="SOLUSDT", occurred_at_ms=ts,
                       exec_id=f"x-{link}-{ts}", side=side, exec_qty=D(qty), exec_price=D(100),
                       exec_fee=D(0), is_maker=False, cum_qty=D(qty), avg_price=D(100),
                       leaves_qty=D(0))  # fmt: skip


async def test_the_order_s_levels_go_out_with_the_fill_that_opens_the_position(
    agent: Agent,
) -> None:
    entry = order(stop_loss="98", take_profit="104")

    await agent.run((ORDERS, entry), (REPORTS, fill(entry)))

    [opened] = agent.published()
    assert (opened.size, opened.stop_loss, opened.take_profit) == (D(2), D(98), D(104))
    assert agent.table["SOLUSDT"]["position"]["take_profit"] == "104"
    assert agent.dlq.letters == []


async def test_a_fill_seen_before_its_order_gets_the_levels_when_the_order_comes(
    agent: Agent,
) -> None:
    entry = order(stop_loss="98", take_profit="104")

    await agent.run((REPORTS, fill(entry)), (ORDERS, entry))

    first, late = agent.published()
    assert (first.stop_loss, first.take_profit) == (None, None)
    assert (late.size, late.stop_loss, late.take_profit) == (D(2), D(98), D(104))
    assert late.updated_ts_ms == first.updated_ts_ms  # not newer than the fill: just levelled
    assert ("account", late) in agent.sent  # risk counts from the stop


async def test_a_partial_close_keeps_the_levels_and_a_plain_order_changes_nothing(
    agent: Agent,
) -> None:
    entry = order(stop_loss="98", take_profit="104")
    close = order("sig-2", Side.SELL)

    await agent.run((ORDERS, entry), (REPORTS, fill(entry)), (ORDERS, close),
                    (REPORTS, fill(close, "1", Side.SELL, T0 + 9)))  # fmt: skip

    assert [(c.size, c.stop_loss, c.take_profit) for c in agent.published()] == [
        (D(2), D(98), D(104)), (D(1), D(98), D(104))]  # fmt: skip


@pytest.mark.parametrize("order_first", [True, False])
async def test_the_order_s_atr_reaches_the_position_whichever_topic_comes_first(
    agent: Agent, order_first: bool
) -> None:
    entry = order(atr="0.4")  # an ATR alone, no stop or take-profit
    records = [(ORDERS, entry), (REPORTS, fill(entry))]

    await agent.run(*(records if order_first else reversed(records)))

    last = agent.published()[-1]
    assert (last.size, last.stop_loss, last.atr) == (D(2), None, D("0.4"))
    assert agent.table["SOLUSDT"]["position"]["atr"] == "0.4"
