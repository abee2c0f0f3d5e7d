"""The matching engine, case by case: taker walks, resting orders, reduce-only, margin, latency."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from tradestream.core.matching import MatchingEngine
from tradestream.schemas.orders import (
    CancelOrder,
    ClosePosition,
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    Side,
    TimeInForce,
)

if TYPE_CHECKING:
    from tests.unit.core.matching.conftest import BookFactory, EngineFactory, PlaceFactory

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
SYMBOL = "BTCUSDT"


def kinds(events: list[OrderEvent]) -> list[str]:
    return [event.kind for event in events]


def fills(events: list[OrderEvent]) -> list[OrderFilled | OrderPartiallyFilled]:
    return [e for e in events if isinstance(e, OrderFilled | OrderPartiallyFilled)]


def test_a_market_buy_walks_the_asks_and_pays_the_taker_fee(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(bids=[(99, 1)], asks=[(101, 1), (102, 2), (103, 5)])

    events = engine.place(make_place(BUY, "2.5"), book, now_ms=7)

    assert kinds(events) == ["order_accepted", "order_partially_filled", "order_filled"]
    assert [(f.exec_price, f.exec_qty, f.is_maker) for f in fills(events)] == [
        (D(101), D(1), False),
        (D(102), D("1.5"), False),
    ]
    assert [f.exec_fee for f in fills(events)] == [D("0.05555"), D("0.08415")]
    assert (fills(events)[-1].avg_price, fills(events)[-1].occurred_at_ms) == (D("101.6"), 7)
    position = engine.position(SYMBOL)
    assert (position.size, position.entry_price) == (D("2.5"), D("101.6"))
    assert engine.account.wallet_balance == D(100_000) - D("0.1397")


def test_a_market_order_expires_what_the_book_cannot_fill(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    events = engine.place(make_place(SELL, 3), make_book(bids=[(99, 1)]), now_ms=0)

    assert kinds(events) == ["order_accepted", "order_partially_filled", "order_expired"]
    assert events[-1].cum_qty == D(1)  # type: ignore[union-attr]
    assert engine.position(SYMBOL).size == D(-1)


def test_an_ioc_limit_stops_at_its_price_and_expires_the_rest(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(asks=[(101, 1), (102, 2)])

    events = engine.place(make_place(BUY, 2, price=101, tif=TimeInForce.IOC), book, now_ms=0)

    assert [f.exec_price for f in fills(events)] == [D(101)]
    assert kinds(events)[-1] == "order_expired"
    assert engine.open_orders() == ()


def test_a_gtc_remainder_rests_and_later_fills_as_maker_at_its_own_price(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(bids=[(99, 1)], asks=[(101, 1), (103, 5)])
    events = engine.place(make_place(BUY, 3, price=102), book, now_ms=0)
    assert kinds(events) == ["order_accepted", "order_partially_filled"]
    assert [o.leaves_qty for o in engine.open_orders(SYMBOL)] == [D(2)]

    later = engine.on_book(SYMBOL, make_book(bids=[(99, 1)], asks=[(100, 5)]), now_ms=9)

    assert [(f.exec_price, f.exec_qty, f.is_maker, f.kind) for f in fills(later)] == [
        (D(102), D(2), True, "order_filled")
    ]
    assert fills(later)[0].exec_fee == D(204) * D("0.0002")
    assert engine.open_orders() == ()


def test_liquidity_we_took_is_not_taken_again_until_the_book_refreshes(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(asks=[(101, 1), (102, 1)])
    engine.place(make_place(BUY, 3, price=102), book, now_ms=0)

    assert engine.on_book(SYMBOL, book, now_ms=1) == []
    refreshed = engine.on_book(SYMBOL, make_book(asks=[(101, 4)]), now_ms=2)
    assert [(f.exec_price, f.exec_qty) for f in fills(refreshed)] == [(D(102), D(1))]


def test_a_crossing_post_only_order_is_rejected_and_a_passive_one_rests(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(bids=[(99, 1)], asks=[(101, 1)])

    crossing = engine.place(make_place(BUY, 1, price=101, tif=TimeInForce.POST_ONLY), book, 0)
    passive = engine.place(make_place(BUY, 1, price=100, tif=TimeInForce.POST_ONLY), book, 0)

    assert kinds(crossing) == ["order_rejected"]
    assert kinds(passive) == ["order_accepted"]
    assert [o.price for o in engine.open_orders()] == [D(100)]


@pytest.mark.parametrize(("qty", "filled"), [(3, D(0)), (2, D(2))])
def test_fok_fills_completely_or_not_at_all(
    engine: MatchingEngine,
    make_book: BookFactory,
    make_place: PlaceFactory,
    qty: int,
    filled: Decimal,
) -> None:
    book = make_book(asks=[(101, 1), (102, 1), (110, 9)])

    events = engine.place(make_place(BUY, qty, price=102, tif=TimeInForce.FOK), book, 0)

    assert sum((f.exec_qty for f in fills(events)), D(0)) == filled
    assert engine.position(SYMBOL).size == filled
    assert kinds(events)[-1] == ("order_filled" if filled else "order_expired")


def test_a_reduce_only_order_is_clipped_to_the_position_and_never_flips_it(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(bids=[(99, 10)], asks=[(101, 10)])
    engine.place(make_place(BUY, 2), book, 0)

    events = engine.place(make_place(SELL, 5, reduce_only=True), book, 1)

    assert events[0].qty == D(2)  # type: ignore[union-attr]
    assert kinds(events) == ["order_accepted", "order_filled"]
    assert engine.position(SYMBOL).is_flat


@pytest.mark.parametrize("opening", [None, BUY])
def test_a_reduce_only_order_that_cannot_reduce_is_rejected(
    engine: MatchingEngine,
    make_book: BookFactory,
    make_place: PlaceFactory,
    opening: Side | None,
) -> None:
    book = make_book(bids=[(99, 10)], asks=[(101, 10)])
    if opening is not None:
        engine.place(make_place(opening, 1), book, 0)

    events = engine.place(make_place(BUY, 1, reduce_only=True), book, 1)

    assert isinstance(events[0], OrderRejected)
    assert events[0].ret_code == 110017


def test_a_resting_reduce_only_order_is_cancelled_once_the_position_is_gone(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(bids=[(99, 10)], asks=[(101, 10)])
    engine.place(make_place(BUY, 1), book, 0)
    engine.place(make_place(SELL, 1, price=105, reduce_only=True), book, 1)
    engine.place(make_place(SELL, 1), book, 2)

    events = engine.on_book(SYMBOL, make_book(bids=[(106, 5)], asks=[(107, 5)]), 3)

    assert kinds(events) == ["order_cancelled"]
    assert engine.position(SYMBOL).is_flat


def test_a_replayed_command_is_rejected_as_a_duplicate(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(asks=[(101, 10)])
    engine.place(make_place(BUY, 1, signal_id="sig-x"), book, 0)

    events = engine.place(make_place(BUY, 1, signal_id="sig-x"), book, 1)

    assert isinstance(events[0], OrderRejected)
    assert events[0].ret_code == 110072
    assert engine.position(SYMBOL).size == D(1)


def test_an_order_without_enough_margin_is_rejected(
    make_engine: EngineFactory, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine = make_engine(balance=1_000, leverage=10)
    book = make_book(bids=[(99, 500)], asks=[(100, 500)])

    events = engine.place(make_place(BUY, 101), book, 0)

    assert isinstance(events[0], OrderRejected)
    assert events[0].ret_code == 110007
    assert engine.position(SYMBOL).is_flat
    assert kinds(engine.place(make_place(BUY, 99), book, 1))[-1] == "order_filled"


def test_closing_needs_no_margin_but_flipping_does(
    make_engine: EngineFactory, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine = make_engine(balance=110, leverage=10)
    book = make_book(bids=[(100, 500)], asks=[(100, 500)])
    engine.place(make_place(BUY, 10), book, 0)
    assert engine.available_balance() < 10

    assert kinds(engine.place(make_place(SELL, 20), book, 1)) == ["order_rejected"]
    assert kinds(engine.place(make_place(SELL, 10), book, 2))[-1] == "order_filled"


def test_resting_orders_hold_margin(
    make_engine: EngineFactory, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine = make_engine(balance=1_000, leverage=10)
    book = make_book(bids=[(99, 1)], asks=[(101, 1)])

    engine.place(make_place(BUY, 50, price=90), book, 0)

    assert engine.order_margin() == D(450)
    assert engine.available_balance() == D(550)


def test_with_latency_an_order_activates_on_the_first_book_once_due(
    make_engine: EngineFactory, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine = make_engine(latency_ms=100)

    assert engine.place(make_place(BUY, 1), make_book(asks=[(101, 5)]), now_ms=0) == []
    assert engine.on_book(SYMBOL, make_book(asks=[(102, 5)]), now_ms=99) == []
    events = engine.on_book(SYMBOL, make_book(asks=[(103, 5)]), now_ms=100)

    assert kinds(events) == ["order_accepted", "order_filled"]
    assert fills(events)[0].exec_price == D(103)
    assert engine.pending_orders() == ()


def cancel(link_id: str, symbol: str = SYMBOL) -> CancelOrder:
    return CancelOrder(
        command_id="c",
        strategy="test",
        symbol=symbol,
        order_link_id=link_id,
        reason="asked",
        issued_at_ms=0,
    )


def test_cancel_a_resting_order_and_refuse_an_unknown_one(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    accepted = engine.place(make_place(BUY, 1, price=90), make_book(asks=[(101, 1)]), 0)[0]

    done = engine.cancel(cancel(accepted.order_link_id), now_ms=5)
    again = engine.cancel(cancel(accepted.order_link_id), now_ms=6)

    assert kinds(done) == ["order_cancelled"]
    assert kinds(again) == ["order_cancel_rejected"]
    assert again[0].ret_code == 110001  # type: ignore[union-attr]
    assert engine.open_orders() == ()


def test_a_pending_order_can_be_cancelled_before_it_activates(
    make_engine: EngineFactory, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine = make_engine(latency_ms=50)
    command = make_place(BUY, 1)
    engine.place(command, make_book(asks=[(101, 5)]), 0)
    link_id = engine.pending_orders()[0].order_link_id

    assert kinds(engine.cancel(cancel(link_id), 10)) == ["order_cancelled"]
    assert engine.on_book(SYMBOL, make_book(asks=[(101, 5)]), 60) == []


@pytest.mark.parametrize(
    ("touch", "trade", "filled"),
    [
        (False, ("99.5", SELL), D("0.4")),
        (False, ("100", SELL), D(0)),
        (True, ("100", SELL), D("0.4")),
        (False, ("99", BUY), D(0)),
    ],
)
def test_a_trade_through_a_resting_order_fills_it_as_maker(
    make_engine: EngineFactory,
    make_book: BookFactory,
    make_place: PlaceFactory,
    *,
    touch: bool,
    trade: tuple[str, Side],
    filled: Decimal,
) -> None:
    engine = make_engine(fill_on_touch=touch)
    engine.place(make_place(BUY, 1, price=100), make_book(asks=[(101, 1)]), 0)
    price, taker = trade

    events = engine.on_trade(SYMBOL, D(price), D("0.4"), taker, now_ms=5)

    assert sum((f.exec_qty for f in fills(events)), D(0)) == filled
    assert all(f.exec_price == D(100) and f.is_maker for f in fills(events))


def test_a_trade_fills_the_best_priced_resting_order_first(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(asks=[(110, 1)])
    engine.place(make_place(BUY, 1, price=100), book, 0)
    engine.place(make_place(BUY, 1, price=101), book, 1)

    events = engine.on_trade(SYMBOL, D(99), D("1.5"), SELL, now_ms=2)

    assert [(f.exec_price, f.exec_qty) for f in fills(events)] == [
        (D(101), D(1)),
        (D(100), D("0.5")),
    ]


def test_reducing_realizes_pnl_and_the_mark_values_the_rest(
    make_engine: EngineFactory, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine = make_engine(balance=10_000, fees={"maker_rate": "0", "taker_rate": "0"})
    engine.place(make_place(BUY, 2), make_book(asks=[(100, 5)]), 0)

    engine.place(make_place(SELL, 1), make_book(bids=[(110, 5)]), 1)
    engine.set_mark(SYMBOL, D(120))

    position = engine.position(SYMBOL)
    assert (position.size, position.realized_pnl) == (D(1), D(10))
    assert engine.account.wallet_balance == D(10_010)
    assert engine.equity() == D(10_030)


def test_a_book_update_marks_the_position_at_the_mid(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    engine.place(make_place(BUY, 1), make_book(asks=[(100, 5)]), 0)

    engine.on_book(SYMBOL, make_book(bids=[(104, 1)], asks=[(106, 1)]), 1)

    assert engine.account.mark(SYMBOL) == D(105)
    assert engine.account.unrealized_pnl() == D(5)


def close(qty: Decimal | None = None) -> ClosePosition:
    return ClosePosition(
        command_id="close-1",
        strategy="test",
        symbol=SYMBOL,
        qty=qty,
        reason="aged",
        issued_at_ms=0,
    )


def test_close_position_flattens_with_a_reduce_only_market_order(
    engine: MatchingEngine, make_book: BookFactory, make_place: PlaceFactory
) -> None:
    book = make_book(bids=[(99, 10)], asks=[(101, 10)])
    engine.place(make_place(SELL, 2), book, 0)

    events = engine.close_position(close(), book, 1)

    assert kinds(events) == ["order_accepted", "order_filled"]
    assert events[0].reduce_only  # type: ignore[union-attr]
    assert engine.position(SYMBOL).is_flat
    assert kinds(engine.close_position(close(), book, 2)) == ["order_rejected"]
