"""Properties of the matching engine over random books, orders and trades (hypothesis).

Each scenario is a random sequence of book updates, orders and public trades on one symbol,
replayed through a fresh engine; the trace keeps every event with the market it met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.matching import (
    BookView,
    MatchingEngine,
    MatchingEngineConfig,
    StaticBook,
    best_ask,
    best_bid,
)
from tradestream.core.orders import order_link_id_for
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)

D = Decimal
SYMBOL = "BTCUSDT"
Fill = OrderFilled | OrderPartiallyFilled
TOLERANCE = D("1e-12")  # average entry prices carry 28 significant digits, not infinitely many

sizes = st.integers(min_value=1, max_value=40).map(lambda n: D(n) / 10)
price_ticks = st.integers(min_value=950, max_value=1050)


def _ladder(start: int, gaps: list[int], step: int) -> list[int]:
    prices, price = [], start
    for gap in gaps:
        prices.append(price)
        price += step * gap
    return prices


@st.composite
def books(draw: st.DrawFn) -> StaticBook:
    mid = draw(price_ticks)
    spread = draw(st.integers(min_value=1, max_value=6))
    depth = st.lists(st.integers(min_value=1, max_value=4), max_size=5)
    bids = _ladder(mid, draw(depth), -1)
    asks = _ladder(mid + spread, draw(depth), 1)
    return StaticBook(
        bids=[(D(p) / 10, draw(sizes)) for p in bids],
        asks=[(D(p) / 10, draw(sizes)) for p in asks],
    )


@st.composite
def orders(draw: st.DrawFn) -> PlaceOrder:
    limit = draw(st.booleans())
    tifs = list(TimeInForce) if limit else [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]
    n = draw(st.integers(min_value=0, max_value=10**9))
    return PlaceOrder(
        command_id=f"cmd-{n}",
        strategy="prop",
        signal_id=f"sig-{n}",
        symbol=SYMBOL,
        side=draw(st.sampled_from(list(Side))),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        qty=draw(sizes),
        price=D(draw(price_ticks)) / 10 if limit else None,
        time_in_force=draw(st.sampled_from(tifs)),
        reduce_only=draw(st.sampled_from([False, False, True])),
        issued_at_ms=0,
    )


@dataclass(frozen=True)
class Trade:
    price: Decimal
    qty: Decimal
    taker_side: Side


trades = st.builds(Trade, price_ticks.map(lambda t: D(t) / 10), sizes, st.sampled_from(list(Side)))
steps = st.lists(st.one_of(books(), orders(), orders(), trades), min_size=4, max_size=30)
configs = st.builds(
    MatchingEngineConfig,
    latency_ms=st.sampled_from([0, 0, 50]),
    fill_on_touch=st.booleans(),
    leverage=st.sampled_from([D(1), D(10), D(50)]),
)
balances = st.sampled_from([D(50), D(2_000), D(1_000_000)])


@dataclass
class Trace:
    """Every event of a run, with the market it met and the commands behind it."""

    engine: MatchingEngine
    events: list[tuple[OrderEvent, BookView | Trade]] = field(default_factory=list)
    commands: dict[str, PlaceOrder] = field(default_factory=dict)

    def fills(self) -> list[tuple[Fill, BookView | Trade]]:
        return [
            (e, ctx) for e, ctx in self.events if isinstance(e, OrderFilled | OrderPartiallyFilled)
        ]


def run(
    config: MatchingEngineConfig, balance: Decimal, first: StaticBook, script: list[object]
) -> Trace:
    trace = Trace(MatchingEngine(balance, config))
    book: BookView = first
    for now_ms, step in enumerate(script, start=1):
        market: BookView | Trade = book
        if isinstance(step, StaticBook):
            book = market = step
            new = trace.engine.on_book(SYMBOL, step, now_ms * 10)
        elif isinstance(step, PlaceOrder):
            trace.commands.setdefault(order_link_id_for(step), step)
            new = trace.engine.place(step, book, now_ms * 10)
        else:
            assert isinstance(step, Trade)
            market = step
            new = trace.engine.on_trade(SYMBOL, step.price, step.qty, step.taker_side, now_ms * 10)
        trace.events.extend((event, market) for event in new)
    return trace


scenarios = st.tuples(configs, balances, books(), steps)


@settings(max_examples=150)
@given(scenarios, price_ticks)
def test_equity_is_cash_plus_position_value_net_of_fees(
    scenario: tuple[MatchingEngineConfig, Decimal, StaticBook, list[object]], mark_tick: int
) -> None:
    config, balance, first, script = scenario
    trace = run(config, balance, first, script)
    mark = D(mark_tick) / 10
    trace.engine.set_mark(SYMBOL, mark)

    fills = [fill for fill, _ in trace.fills()]
    fees = sum((f.exec_fee for f in fills), D(0))
    cash_flow = sum(
        (
            -f.exec_qty * f.exec_price if f.side is Side.BUY else f.exec_qty * f.exec_price
            for f in fills
        ),
        D(0),
    )
    size = sum((f.exec_qty if f.side is Side.BUY else -f.exec_qty for f in fills), D(0))
    position = trace.engine.position(SYMBOL)
    account = trace.engine.account

    assert position.size == size
    assert abs(trace.engine.equity() - (balance - fees + cash_flow + size * mark)) < TOLERANCE
    assert abs(account.wallet_balance - (balance + position.realized_pnl - fees)) < TOLERANCE
    assert account.fees_paid == fees


@settings(max_examples=150)
@given(scenarios)
def test_a_reduce_only_order_never_flips_or_grows_a_position(
    scenario: tuple[MatchingEngineConfig, Decimal, StaticBook, list[object]],
) -> None:
    trace = run(*scenario)

    size = D(0)
    for fill, _ in trace.fills():
        signed = fill.exec_qty if fill.side is Side.BUY else -fill.exec_qty
        after = size + signed
        if trace.commands[fill.order_link_id].reduce_only:
            assert size != 0
            assert abs(after) < abs(size)
            assert after == 0 or (after > 0) == (size > 0)
        size = after


@settings(max_examples=150)
@given(scenarios)
def test_fills_never_beat_the_book_or_the_limit(
    scenario: tuple[MatchingEngineConfig, Decimal, StaticBook, list[object]],
) -> None:
    trace = run(*scenario)

    for fill, market in trace.fills():
        limit = trace.commands[fill.order_link_id].price
        buy = fill.side is Side.BUY
        if isinstance(market, Trade):
            touch = market.price
        else:
            touch = best_ask(market) if buy else best_bid(market)
        assert touch is not None
        assert fill.exec_price >= touch if buy else fill.exec_price <= touch
        if limit is not None:
            assert fill.exec_price <= limit if buy else fill.exec_price >= limit
        if fill.is_maker:
            assert fill.exec_price == limit


@settings(max_examples=150)
@given(scenarios)
def test_partial_fills_add_up_to_the_filled_qty(
    scenario: tuple[MatchingEngineConfig, Decimal, StaticBook, list[object]],
) -> None:
    trace = run(*scenario)

    accepted = {e.order_link_id: e.qty for e, _ in trace.events if isinstance(e, OrderAccepted)}
    running: dict[str, Decimal] = {}
    for fill, _ in trace.fills():
        running[fill.order_link_id] = running.get(fill.order_link_id, D(0)) + fill.exec_qty
        assert fill.cum_qty == running[fill.order_link_id]
        assert fill.leaves_qty == accepted[fill.order_link_id] - fill.cum_qty
        assert isinstance(fill, OrderFilled) == (fill.leaves_qty == 0)
    for order in trace.engine.open_orders():
        assert order.cum_qty == running.get(order.order_link_id, D(0))
