"""The paper account as data: saved, read back into a new exchange, trading on as before."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis

from tradestream.core.errors import UnavailableError
from tradestream.exchange.paper import PaperExchange, PaperExchangeConfig
from tradestream.exchange.paper_state import PaperChanges
from tradestream.exchange.paper_store import PaperAccountStore
from tradestream.schemas.orders import OrderEvent, OrderFilled, Side

from .conftest import SYMBOL, FakeMsClock, PlaceFactory, btc_book


class SavedAccount:
    """What a store would hold: the account document and the orders hash, merged save by save."""

    def __init__(self) -> None:
        self.account: dict[str, Any] = {}
        self.orders: dict[str, str] = {}

    def save(self, exchange: PaperExchange) -> PaperChanges:
        changes = exchange.take_changes()
        if changes.account:
            self.account = json.loads(json.dumps(changes.account))  # as it travels to Redis
        self.orders.update({k: json.dumps(v) for k, v in changes.orders.items()})
        for link_id in changes.dropped:
            self.orders.pop(link_id, None)  # HDEL of a field never written is nothing
        return changes

    def restored(self, clock: FakeMsClock, config: PaperExchangeConfig) -> PaperExchange:
        again = PaperExchange(config, clock=clock)
        again.restore(self.account, [json.loads(o) for o in self.orders.values()])
        return again


async def _answers(exchange: PaperExchange, link_ids: list[str]) -> dict[str, Any]:
    return {
        "positions": await exchange.positions(),
        "flat": await exchange.positions("ETHUSDT"),
        "open": await exchange.open_orders(),
        "wallet": await exchange.wallet_balance(),
        "orders": [await exchange.order(SYMBOL, i) for i in link_ids],
        "executions": [await exchange.executions(SYMBOL, i) for i in link_ids],
    }


async def _trade(paper: PaperExchange, make_place: PlaceFactory) -> list[str]:
    """A long with a stop, a partly filled resting buy and a resting sell; their link ids."""
    bought = await paper.place(make_place(qty="0.5"))  # sweeps two levels: two fills
    await paper.set_leverage(SYMBOL, Decimal(5))
    await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(60000))
    partly = await paper.place(make_place(qty="0.3", price="64900"))
    paper.on_trade(SYMBOL, Decimal("64890"), Decimal("0.1"), Side.SELL)
    resting = await paper.place(make_place(Side.SELL, qty="0.1", price="66000"))
    return [bought.order_link_id, partly.order_link_id, resting.order_link_id]


async def test_a_restored_exchange_answers_as_the_saved_one_and_trades_on(
    paper: PaperExchange, ms_clock: FakeMsClock, make_place: PlaceFactory
) -> None:
    saved = SavedAccount()
    link_ids = await _trade(paper, make_place)
    saved.save(paper)
    again = saved.restored(ms_clock, paper.config)

    assert await _answers(again, link_ids) == await _answers(paper, link_ids)
    [position] = await again.positions()
    assert (position.size, position.leverage, position.stop_loss) == (
        Decimal("0.6"), Decimal(5), Decimal(60000),
    )  # fmt: skip

    # Both go on the same way: the resting buy fills its rest, the stop closes the position.
    streams: list[list[OrderEvent]] = [[], []]
    for exchange, received in zip((paper, again), streams, strict=True):
        exchange.subscribe(received.append)
        exchange.on_book(SYMBOL, btc_book("64850.0", "64850.1"))
        await exchange.place(make_place(qty="0.01", signal_id=f"later-{id(received)}"))
        exchange.on_book(SYMBOL, btc_book("59000.0", "59000.1"))
    kinds = [[(e.kind, getattr(e, "exec_qty", None)) for e in s] for s in streams]
    assert kinds[0] == kinds[1]
    closes = [e for e in streams[1] if isinstance(e, OrderFilled) and e.side is Side.SELL]
    assert [c.exec_qty for c in closes] == [Decimal("0.81")]
    assert [p.size for p in await again.positions(SYMBOL)] == [Decimal(0)]
    assert await again.wallet_balance() == await paper.wallet_balance()
    assert (await again.order(SYMBOL, link_ids[1])) == (await paper.order(SYMBOL, link_ids[1]))


async def test_a_restored_exchange_refuses_a_duplicate_and_numbers_orders_on(
    paper: PaperExchange, ms_clock: FakeMsClock, make_place: PlaceFactory
) -> None:
    saved = SavedAccount()
    first = make_place(qty="0.01", signal_id="dup")
    await paper.place(first)
    saved.save(paper)
    again = saved.restored(ms_clock, paper.config)

    with pytest.raises(Exception, match="duplicate"):
        await again.place(first)
    ack = await again.place(make_place(qty="0.01"))
    assert ack.order_id == "paper-2"


async def test_only_changes_are_taken_and_ended_orders_beyond_the_window_are_forgotten(
    ms_clock: FakeMsClock, make_place: PlaceFactory
) -> None:
    config = PaperExchangeConfig(ended_orders_kept=3)
    paper = PaperExchange(config, clock=ms_clock)
    paper.on_book(SYMBOL, btc_book(size="100"))
    saved = SavedAccount()
    assert paper.changed is False
    resting = await paper.place(make_place(qty="0.01", price="60000"))
    placed = [(await paper.place(make_place(qty="0.01"))).order_link_id for _ in range(5)]
    first = saved.save(paper)
    assert paper.changed is False
    assert saved.save(paper).empty

    # 5 filled > 3 kept + a batch of 1: the two oldest are dropped, from memory and the store.
    assert set(first.orders) == {resting.order_link_id, *placed[2:]}
    assert set(first.dropped) == set(placed[:2])
    assert await paper.order(SYMBOL, placed[0]) is None
    assert set(saved.orders) == {resting.order_link_id, *placed[2:]}
    again = saved.restored(ms_clock, config)
    assert [o.order_link_id for o in await again.open_orders()] == [resting.order_link_id]


async def test_the_store_fails_closed_and_keeps_the_changes_while_redis_is_unreachable(
    paper: PaperExchange, make_place: PlaceFactory
) -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    store = PaperAccountStore(paper, unreachable, "unit:")
    placed = await paper.place(make_place(qty="0.01"))

    with pytest.raises(UnavailableError, match="not saved"):
        await store.save()
    with pytest.raises(UnavailableError, match="not read"):
        await store.load()
    assert paper.changed
    assert placed.order_link_id in paper.take_changes().orders
    await unreachable.aclose()
