"""``BybitExchange``'s private stream: unmodified pybit on the simulator's ``/v5/private``.

Events must arrive as the order state machine needs them, a dropped connection must be
surfaced, and whatever was pushed while we were away must be recovered by reconciliation,
exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from tests.support.waiting import eventually
from tradestream.core.clock import now_ms
from tradestream.core.errors import BadInputError
from tradestream.core.orders import Order, OrderStatus, apply_event
from tradestream.core.resilience import Outcome
from tradestream.exchange.base import ExchangeError
from tradestream.exchange.bybit import BybitExchange
from tradestream.exchange.bybit_private import StreamStatus
from tradestream.exchange.reconcile import local_status
from tradestream.schemas.exchange import PositionSnapshot, WalletBalance
from tradestream.schemas.orders import (
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    PlaceOrder,
)
from tradestream.simulator import BybitSimulator

from .conftest import SYMBOL, Admin, bybit_config, market_buy, resting_buy

pytestmark = pytest.mark.timeout(60)


class _Recorder:
    """Collect what the adapter hands to its subscribers."""

    def __init__(self, exchange: BybitExchange) -> None:
        self.events: list[OrderEvent] = []
        self.account: list[PositionSnapshot | WalletBalance] = []
        self.statuses: list[StreamStatus] = []
        exchange.subscribe(self.events.append)
        exchange.subscribe_account(self.account.append)
        exchange.subscribe_status(self.statuses.append)

    def of(self, link_id: str) -> list[OrderEvent]:
        return [e for e in self.events if e.order_link_id == link_id]

    def fills(self, link_id: str) -> list[str]:
        fills = (e for e in self.of(link_id) if isinstance(e, OrderFilled | OrderPartiallyFilled))
        return [f.exec_id for f in fills]


@pytest.fixture
async def live(sim: BybitSimulator, redis: tuple[Redis, str]) -> AsyncIterator[BybitExchange]:
    """The adapter with its private stream connected to the simulator."""
    client, prefix = redis
    config = bybit_config(sim, prefix, private_ws_url=sim.private_url)
    exchange = BybitExchange(config, client)
    await exchange.connect()
    try:
        yield exchange
    finally:
        await exchange.close()


def _order_for(command: PlaceOrder, link_id: str) -> Order:
    return Order(
        order_link_id=link_id,
        symbol=command.symbol,
        side=command.side,
        qty=command.qty,
        price=command.price,
        clock=now_ms,
    )


async def test_a_filled_market_order_is_reported_by_its_executions(live: BybitExchange) -> None:
    seen = _Recorder(live)
    ack = await live.place(market_buy("ws-mkt", "0.02"))
    await eventually(lambda: any(isinstance(e, OrderFilled) for e in seen.of(ack.order_link_id)))
    kinds = {e.kind for e in seen.of(ack.order_link_id)}
    assert kinds <= {"order_accepted", "order_partially_filled", "order_filled"}
    executions = await live.executions(SYMBOL, ack.order_link_id)
    assert seen.fills(ack.order_link_id) == [e.exec_id for e in executions]
    await eventually(lambda: any(isinstance(u, PositionSnapshot) for u in seen.account))
    await eventually(lambda: any(isinstance(u, WalletBalance) for u in seen.account))


async def test_a_cancelled_resting_order_is_reported_cancelled(
    sim: BybitSimulator, live: BybitExchange
) -> None:
    seen = _Recorder(live)
    command = resting_buy(sim, "ws-rest")
    ack = await live.place(command)
    await eventually(lambda: seen.of(ack.order_link_id))
    await live.cancel_all(SYMBOL)
    await eventually(lambda: [e.kind for e in seen.of(ack.order_link_id)][-1] == "order_cancelled")
    order = _order_for(command, ack.order_link_id)
    order.submit()
    for event in seen.of(ack.order_link_id):
        apply_event(order, event)
    assert order.status is OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("key", "secret"), [("sim-key", "wrong-secret"), ("no-such-key", "sim-secret")]
)
async def test_bad_credentials_are_refused_by_the_private_stream(
    sim: BybitSimulator, redis: tuple[Redis, str], key: str, secret: str
) -> None:
    client, prefix = redis
    url = sim.private_url
    config = bybit_config(sim, prefix, api_key=key, api_secret=secret, private_ws_url=url)
    intruder = BybitExchange(config, client)
    with pytest.raises(ExchangeError) as caught:
        await intruder.connect()
    assert caught.value.outcome is Outcome.DENIED
    assert not intruder.stream_status().connected


async def test_a_drop_is_surfaced_and_the_stream_resumes(
    sim: BybitSimulator, live: BybitExchange, admin: Admin
) -> None:
    seen = _Recorder(live)
    body = await admin("POST", "/faults", json={"kind": "private_ws_drop"})
    assert body == {"dropped": 1}
    await eventually(lambda: live.stream_status().reconciliations == 1)
    assert live.stream_status().reconnects == 1
    assert any(s.reconnects == 1 for s in seen.statuses)
    ack = await live.place(market_buy("ws-after-drop"))
    await eventually(lambda: seen.fills(ack.order_link_id))


async def test_a_fill_pushed_during_a_drop_is_recovered_once(
    sim: BybitSimulator, live: BybitExchange
) -> None:
    seen = _Recorder(live)
    command = resting_buy(sim, "ws-gap")
    ack = await live.place(command)
    link_id = ack.order_link_id
    await eventually(lambda: seen.of(link_id))
    venue = sim.exchange.venue
    ask = venue.book(SYMBOL).asks()[0][0]
    # In one step of the simulator's loop: cut the connection, then fill the order, so the
    # fill is pushed to a dead connection and only REST can tell us about it.
    assert sim.exchange.private.drop_all() == 1
    venue.amend(SYMBOL, link_id, {"price": str(ask + Decimal(1))})

    await eventually(lambda: seen.fills(link_id), message="fill recovered")
    await eventually(lambda: live.stream_status().reconciliations >= 1)
    status = live.stream_status()
    assert status.reconnects == 1
    assert status.recovered_events >= 1
    executions = await live.executions(SYMBOL, link_id)
    assert sorted(seen.fills(link_id)) == sorted(e.exec_id for e in executions)

    order = _order_for(command, link_id)
    order.submit()
    for event in seen.of(link_id):
        apply_event(order, event)
    snapshot = await live.order(SYMBOL, link_id)
    assert snapshot is not None
    assert order.status is local_status(snapshot) is OrderStatus.FILLED
    assert order.cum_qty == snapshot.cum_exec_qty


async def test_an_order_refused_before_sending_emits_nothing(live: BybitExchange) -> None:
    seen = _Recorder(live)
    with pytest.raises(BadInputError):
        await live.place(market_buy("ws-tiny", "0.0001"))
    assert seen.events == []
