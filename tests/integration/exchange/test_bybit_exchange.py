"""Every ``BybitExchange`` call, through unmodified pybit, against the simulator's REST API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from redis.asyncio import Redis

from tests.support.protection import set_sim_book
from tests.support.waiting import eventually
from tradestream.core.matching import mid_price
from tradestream.core.orders import order_link_id_for
from tradestream.core.resilience import Outcome
from tradestream.exchange.base import ExchangeError
from tradestream.exchange.bybit import BybitExchange
from tradestream.schemas.exchange import ExchangeOrderStatus
from tradestream.schemas.orders import AmendOrder, CancelOrder, Side, StopTrigger
from tradestream.simulator import BybitSimulator

from .conftest import SYMBOL, bybit_config, market_buy, resting_buy

pytestmark = pytest.mark.timeout(60)


def _cancel(link_id: str) -> CancelOrder:
    return CancelOrder(
        command_id=f"cancel-{link_id}",
        strategy="itest",
        symbol=SYMBOL,
        order_link_id=link_id,
        reason="test",
        issued_at_ms=0,
    )


async def test_place_query_and_cancel_a_resting_order(
    sim: BybitSimulator, exchange: BybitExchange
) -> None:
    command = resting_buy(sim, "rest-1")
    ack = await exchange.place(command)
    assert ack.order_link_id == order_link_id_for(command)

    snapshot = await exchange.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert snapshot.order_status is ExchangeOrderStatus.NEW
    assert snapshot.order_id == ack.order_id
    assert [o.order_link_id for o in await exchange.open_orders(SYMBOL)] == [ack.order_link_id]

    await exchange.cancel(_cancel(ack.order_link_id))
    cancelled = await exchange.order(SYMBOL, ack.order_link_id)
    assert cancelled is not None
    assert cancelled.order_status is ExchangeOrderStatus.CANCELLED
    assert await exchange.open_orders(SYMBOL) == []


async def test_a_duplicate_order_link_id_is_refused_like_bybit(
    sim: BybitSimulator, exchange: BybitExchange
) -> None:
    command = resting_buy(sim, "dup-1")
    await exchange.place(command)
    with pytest.raises(ExchangeError) as caught:
        await exchange.place(command)
    assert caught.value.ret_code == 110072
    assert caught.value.outcome is Outcome.ALREADY_PLACED


async def test_amend_and_cancel_all(sim: BybitSimulator, exchange: BybitExchange) -> None:
    first = await exchange.place(resting_buy(sim, "amend-1"))
    await exchange.place(resting_buy(sim, "amend-2"))
    amend = AmendOrder(
        command_id="amend",
        strategy="itest",
        symbol=SYMBOL,
        order_link_id=first.order_link_id,
        qty=Decimal("0.02"),
        issued_at_ms=0,
    )
    await exchange.amend(amend)
    amended = await exchange.order(SYMBOL, first.order_link_id)
    assert amended is not None
    assert amended.qty == Decimal("0.02")

    cancelled = await exchange.cancel_all(SYMBOL)
    assert len(cancelled) == 2
    assert await exchange.open_orders() == []


async def test_a_market_order_fills_and_shows_in_executions_positions_and_wallet(
    exchange: BybitExchange,
) -> None:
    before = await exchange.wallet_balance()
    ack = await exchange.place(market_buy("mkt-1", "0.05"))

    fills = await exchange.executions(SYMBOL, ack.order_link_id)
    assert sum(f.exec_qty for f in fills) == Decimal("0.05")
    snapshot = await exchange.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert snapshot.order_status is ExchangeOrderStatus.FILLED

    [position] = await exchange.positions(SYMBOL)
    assert position.side is Side.BUY
    assert position.size == Decimal("0.05")
    assert [p.symbol for p in await exchange.positions()] == [SYMBOL]
    after = await exchange.wallet_balance()
    assert after.wallet_balance < before.wallet_balance  # the taker fee


async def test_leverage_and_trading_stop_reach_the_position(exchange: BybitExchange) -> None:
    await exchange.place(market_buy("stop-1"))
    await exchange.set_leverage(SYMBOL, Decimal(5))
    await exchange.set_trading_stop(SYMBOL, take_profit=Decimal(200000), stop_loss=Decimal(1000))
    [position] = await exchange.positions(SYMBOL)
    assert position.leverage == Decimal(5)
    assert (position.take_profit, position.stop_loss) == (Decimal(200000), Decimal(1000))


async def test_instrument_rules_are_cached_in_redis_for_an_hour_and_in_the_process(
    exchange: BybitExchange, redis: tuple[Redis, str]
) -> None:
    client, prefix = redis
    info = await exchange.instrument(SYMBOL)
    assert info.tick_size == Decimal("0.01")
    assert info.qty_step == Decimal("0.001")
    assert await client.ttl(f"{prefix}instrument:{SYMBOL}") >= 3590
    assert await exchange.instrument(SYMBOL) == info
    await client.delete(f"{prefix}instrument:{SYMBOL}")
    assert await exchange.instrument(SYMBOL) == info  # remembered in the process meanwhile
    assert await client.get(f"{prefix}instrument:{SYMBOL}") is None  # so Redis was not asked


async def test_quantities_and_prices_are_rounded_to_the_steps(
    sim: BybitSimulator, exchange: BybitExchange
) -> None:
    command = resting_buy(sim, "round-1", qty="0.0129")
    price = command.price
    assert price is not None
    ack = await exchange.place(command.model_copy(update={"price": price + Decimal("0.004")}))
    snapshot = await exchange.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert snapshot.qty == Decimal("0.012")
    assert snapshot.price == price


@pytest.mark.parametrize(
    ("key", "secret", "ret_code"),
    [("sim-key", "wrong-secret", 10004), ("no-such-key", "sim-secret", 10003)],
)
async def test_bad_credentials_are_denied(
    sim: BybitSimulator, redis: tuple[Redis, str], key: str, secret: str, ret_code: int
) -> None:
    client, prefix = redis
    intruder = BybitExchange(bybit_config(sim, prefix, api_key=key, api_secret=secret), client)
    with pytest.raises(ExchangeError) as caught:
        await intruder.wallet_balance()
    assert caught.value.ret_code == ret_code
    assert caught.value.outcome is Outcome.DENIED


async def test_a_position_stop_is_refused_as_bybit_refuses_it_and_closes_at_the_mark(
    sim: BybitSimulator, exchange: BybitExchange
) -> None:
    with pytest.raises(ExchangeError) as flat:
        await exchange.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(1000))
    await exchange.place(market_buy("stop-2"))
    mark = mid_price(sim.exchange.venue.book(SYMBOL))
    assert mark is not None
    with pytest.raises(ExchangeError) as above:
        await exchange.set_trading_stop(SYMBOL, take_profit=None, stop_loss=mark + 100)
    level = (mark - 50).quantize(Decimal("0.1"))
    for _ in range(2):  # the second is "not modified" at Bybit: no error for us
        await exchange.set_trading_stop(SYMBOL, take_profit=None, stop_loss=level,
                                        trigger_by=StopTrigger.MARK)  # fmt: skip
    [held] = await exchange.positions(SYMBOL)

    set_sim_book(sim, SYMBOL, str(level - 20), str(level - Decimal("19.9")))  # through the stop

    async def flat_now() -> bool:
        [position] = await exchange.positions(SYMBOL)
        return position.size == 0

    await eventually(flat_now, within=10)
    assert (flat.value.ret_code, above.value.ret_code) == (10001, 10001)
    assert "should lower than base_price" in str(above.value)
    assert held.stop_loss == level
    [closed] = await exchange.positions(SYMBOL)
    assert closed.stop_loss == 0
