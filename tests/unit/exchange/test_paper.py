"""The paper exchange: Bybit's rules, refusals and events, filled by the matching engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradestream.core.errors import BadInputError
from tradestream.core.orders import order_link_id_for
from tradestream.core.resilience import Outcome
from tradestream.exchange.base import ExchangeError
from tradestream.exchange.paper import InstrumentRules, PaperExchange, PaperExchangeConfig
from tradestream.schemas.exchange import ExchangeOrderStatus
from tradestream.schemas.orders import (
    AmendOrder,
    CancelOrder,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    Side,
)

from .conftest import SYMBOL, FakeMsClock, PlaceFactory, btc_book

_S = ExchangeOrderStatus


def _cancel(link_id: str, symbol: str = SYMBOL) -> CancelOrder:
    return CancelOrder(
        command_id=f"c-{link_id}",
        strategy="unit",
        symbol=symbol,
        order_link_id=link_id,
        reason="test",
        issued_at_ms=0,
    )


def _amend(link_id: str, qty: str | None = None, price: str | None = None) -> AmendOrder:
    return AmendOrder(
        command_id=f"a-{link_id}",
        strategy="unit",
        symbol=SYMBOL,
        order_link_id=link_id,
        qty=None if qty is None else Decimal(qty),
        price=None if price is None else Decimal(price),
        issued_at_ms=0,
    )


def _kinds(events: list[OrderEvent]) -> list[str]:
    return [e.kind for e in events]


async def test_a_resting_limit_order_is_accepted_listed_and_cancelled(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory
) -> None:
    command = make_place(price="64000")
    ack = await paper.place(command)
    assert ack.order_link_id == order_link_id_for(command)
    assert _kinds(events) == ["order_accepted"]
    assert isinstance(events[0], OrderAccepted)
    assert events[0].order_id == ack.order_id
    assert [o.order_link_id for o in await paper.open_orders(SYMBOL)] == [ack.order_link_id]

    await paper.cancel(_cancel(ack.order_link_id))
    assert _kinds(events) == ["order_accepted", "order_cancelled"]
    snapshot = await paper.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert snapshot.order_status is _S.CANCELLED
    assert await paper.open_orders() == []


async def test_a_market_order_fills_as_taker_and_settles_into_position_and_wallet(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory
) -> None:
    before = await paper.wallet_balance()
    ack = await paper.place(make_place(qty="0.5"))
    assert _kinds(events) == ["order_accepted", "order_filled"]
    fill = events[-1]
    assert isinstance(fill, OrderFilled)
    assert (fill.exec_qty, fill.exec_price, fill.is_maker) == (
        Decimal("0.5"),
        Decimal("65000.1"),
        False,
    )
    [execution] = await paper.executions(SYMBOL, ack.order_link_id)
    assert execution.exec_id == fill.exec_id
    [position] = await paper.positions(SYMBOL)
    assert (position.side, position.size) == (Side.BUY, Decimal("0.5"))
    after = await paper.wallet_balance()
    assert after.wallet_balance == before.wallet_balance - fill.exec_fee


async def test_a_market_order_sweeps_levels_and_reports_partial_fills(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory
) -> None:
    ack = await paper.place(make_place(qty="1.5"))
    assert _kinds(events) == ["order_accepted", "order_partially_filled", "order_filled"]
    snapshot = await paper.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert snapshot.order_status is _S.FILLED
    assert snapshot.avg_price == (Decimal("65000.1") + Decimal("65000.2") / 2) / Decimal("1.5")


@pytest.mark.parametrize(
    ("side", "price", "fitted"),
    [(Side.BUY, "64000.07", "64000.0"), (Side.SELL, "66000.01", "66000.1")],
)
async def test_qty_rounds_down_and_price_rounds_away_from_paying_more(
    paper: PaperExchange, make_place: PlaceFactory, side: Side, price: str, fitted: str
) -> None:
    ack = await paper.place(make_place(side, qty="0.0129", price=price))
    snapshot = await paper.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert (snapshot.qty, snapshot.price) == (Decimal("0.012"), Decimal(fitted))


@pytest.mark.parametrize(("qty", "price"), [("0.0009", "64000"), ("0.001", "1000")])
async def test_orders_under_the_minimums_are_refused_before_matching(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory, qty: str, price: str
) -> None:
    with pytest.raises(BadInputError):
        await paper.place(make_place(qty=qty, price=price))
    assert events == []


async def test_a_duplicate_order_link_id_is_refused_with_110072(
    paper: PaperExchange, make_place: PlaceFactory
) -> None:
    command = make_place(price="64000")
    await paper.place(command)
    with pytest.raises(ExchangeError) as caught:
        await paper.place(command)
    assert caught.value.ret_code == 110072
    assert caught.value.outcome is Outcome.ALREADY_PLACED
    assert len(await paper.open_orders()) == 1


async def test_insufficient_balance_is_refused_with_110007_and_leaves_no_order(
    ms_clock: FakeMsClock, make_place: PlaceFactory
) -> None:
    paper = PaperExchange(PaperExchangeConfig(initial_balance=Decimal(100)), clock=ms_clock)
    paper.on_book(SYMBOL, btc_book())
    command = make_place(qty="1")
    with pytest.raises(ExchangeError) as caught:
        await paper.place(command)
    assert caught.value.ret_code == 110007
    assert caught.value.outcome is Outcome.REJECT
    assert await paper.order(SYMBOL, order_link_id_for(command)) is None


async def test_cancelling_an_order_that_is_not_open_is_refused_with_110001(
    paper: PaperExchange, make_place: PlaceFactory
) -> None:
    ack = await paper.place(make_place())
    for link_id in (ack.order_link_id, "never-placed"):
        with pytest.raises(ExchangeError) as caught:
            await paper.cancel(_cancel(link_id))
        assert caught.value.ret_code == 110001
        assert caught.value.outcome is Outcome.NOT_OPEN


async def test_a_resting_order_fills_as_maker_when_the_book_or_a_trade_goes_through(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory
) -> None:
    first = await paper.place(make_place(qty="0.2", price="64900"))
    second = await paper.place(make_place(qty="0.2", price="64800"))
    paper.on_book(SYMBOL, btc_book(bid="64850.0", ask="64850.1"))
    paper.on_trade(SYMBOL, Decimal("64790"), Decimal("0.1"), Side.SELL)
    fills = [e for e in events if isinstance(e, OrderFilled | OrderPartiallyFilled)]
    assert [(f.order_link_id, f.exec_price, f.is_maker) for f in fills] == [
        (first.order_link_id, Decimal("64900.0"), True),
        (second.order_link_id, Decimal("64800.0"), True),
    ]
    snapshot = await paper.order(SYMBOL, second.order_link_id)
    assert snapshot is not None
    assert (snapshot.order_status, snapshot.leaves_qty) == (_S.PARTIALLY_FILLED, Decimal("0.1"))


async def test_amend_changes_qty_and_price_and_a_crossing_amend_fills(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory
) -> None:
    ack = await paper.place(make_place(qty="0.1", price="64000"))
    await paper.amend(_amend(ack.order_link_id, qty="0.2"))
    snapshot = await paper.order(SYMBOL, ack.order_link_id)
    assert snapshot is not None
    assert (snapshot.qty, snapshot.price, snapshot.order_id) == (
        Decimal("0.2"),
        Decimal("64000"),
        ack.order_id,
    )
    await paper.amend(_amend(ack.order_link_id, price="65100"))
    assert isinstance(events[-1], OrderFilled)
    assert events[-1].order_link_id == ack.order_link_id
    assert not any(isinstance(e, OrderCancelled) for e in events)


async def test_cancel_all_cancels_only_that_symbols_open_orders(
    paper: PaperExchange, make_place: PlaceFactory
) -> None:
    links = [(await paper.place(make_place(price="64000"))).order_link_id for _ in range(2)]
    assert sorted(await paper.cancel_all(SYMBOL)) == sorted(links)
    assert await paper.cancel_all(SYMBOL) == []


@pytest.mark.parametrize(
    ("symbol", "tick", "step"),
    [
        ("BTCUSDT", "0.1", "0.001"),
        ("ETHUSDT", "0.01", "0.01"),
        ("SOLUSDT", "0.01", "0.1"),
        ("DOGEUSDT", "0.00001", "1"),
    ],
)
async def test_the_recorded_symbols_have_bybits_rules(
    paper: PaperExchange, symbol: str, tick: str, step: str
) -> None:
    info = await paper.instrument(symbol)
    assert (info.tick_size, info.qty_step, info.min_notional) == (
        Decimal(tick),
        Decimal(step),
        Decimal(5),
    )


async def test_unknown_symbols_are_refused_unless_a_default_rule_is_configured(
    ms_clock: FakeMsClock,
) -> None:
    with pytest.raises(ExchangeError) as caught:
        await PaperExchange(clock=ms_clock).instrument("XRPUSDT")
    assert caught.value.outcome is Outcome.REJECT
    rules = InstrumentRules(tick_size=Decimal("0.0001"), qty_step=Decimal(1), min_qty=Decimal(1))
    config = PaperExchangeConfig(default_instrument=rules)
    info = await PaperExchange(config, clock=ms_clock).instrument("XRPUSDT")
    assert info.tick_size == Decimal("0.0001")


async def test_leverage_and_stops_show_on_the_position(
    paper: PaperExchange, make_place: PlaceFactory
) -> None:
    await paper.place(make_place())
    await paper.set_leverage(SYMBOL, Decimal(5))
    await paper.set_trading_stop(SYMBOL, take_profit=Decimal(70000), stop_loss=None)
    await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(60000))
    [position] = await paper.positions()
    assert (position.leverage, position.take_profit, position.stop_loss) == (
        Decimal(5),
        Decimal(70000),
        Decimal(60000),
    )


async def test_a_stop_is_refused_where_bybit_refuses_it(
    paper: PaperExchange, make_place: PlaceFactory
) -> None:
    with pytest.raises(ExchangeError, match="zero position") as flat:
        await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(60000))
    await paper.place(make_place())
    with pytest.raises(ExchangeError, match="should lower than base_price") as above:
        await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(66000))
    await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(64000))
    await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal(64000))  # as held

    assert (flat.value.ret_code, above.value.ret_code) == (10001, 10001)
    [position] = await paper.positions(SYMBOL)
    assert position.stop_loss == Decimal(64000)


async def test_a_stop_crossed_by_the_book_closes_the_whole_position_at_market_once(
    paper: PaperExchange, events: list[OrderEvent], make_place: PlaceFactory
) -> None:
    await paper.place(make_place(qty="0.002"))
    await paper.set_trading_stop(SYMBOL, take_profit=None, stop_loss=Decimal("64000.0"))
    paper.on_book(SYMBOL, btc_book("64500.0", "64500.1"))
    assert [p.size for p in await paper.positions(SYMBOL)] == [Decimal("0.002")]

    paper.on_book(SYMBOL, btc_book("63800.0", "63800.1"))  # a gap through the stop
    paper.on_book(SYMBOL, btc_book("63700.0", "63700.1"))

    closes = [e for e in events if isinstance(e, OrderFilled) and e.side is Side.SELL]
    assert [(c.exec_qty, c.exec_price) for c in closes] == [(Decimal("0.002"), Decimal("63800.0"))]
    [position] = await paper.positions(SYMBOL)
    assert (position.size, position.stop_loss) == (Decimal(0), Decimal(0))
