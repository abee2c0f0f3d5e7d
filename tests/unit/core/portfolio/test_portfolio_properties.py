"""Properties over random fills: PnL adds up to cash flows, replays and replicas agree."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.trading import T0, execution
from tradestream.core.portfolio import Portfolio
from tradestream.schemas.account import Execution
from tradestream.schemas.orders import Side

D = Decimal
TOLERANCE = D("1e-12")

fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=50),
        st.integers(min_value=50, max_value=150),
        st.integers(min_value=-3, max_value=10),
        st.sampled_from(["BTCUSDT", "ETHUSDT"]),
    ),
    min_size=1,
    max_size=30,
)


def _executions(rows: list[tuple[Side, int, int, int, str]]) -> list[Execution]:
    return [
        execution(side, D(qty) / 10, D(price), fee=D(fee) / 100, symbol=symbol, ts=T0 + i)
        for i, (side, qty, price, fee, symbol) in enumerate(rows)
    ]


@settings(max_examples=200)
@given(fills, st.integers(min_value=40, max_value=160))
def test_realized_plus_unrealized_minus_fees_is_the_cash_flow(
    rows: list[tuple[Side, int, int, int, str]], mark: int
) -> None:
    book = Portfolio(D(1000))
    executions = _executions(rows)
    for item in executions:
        book.apply_execution(item)
    end = T0 + len(rows)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        book.mark(symbol, D(mark), end)

    state = book.state(end)
    cash = sum(
        ((-item.qty if item.side is Side.BUY else item.qty) * item.price - item.fee)
        for item in executions
    )
    held = sum((p.size * p.mark_price for p in state.open_positions), D(0))
    assert abs(state.equity - (D(1000) + cash + held)) < TOLERANCE


@given(fills)
def test_replaying_every_execution_changes_nothing(
    rows: list[tuple[Side, int, int, int, str]],
) -> None:
    book = Portfolio(D(1000))
    executions = _executions(rows)
    for item in executions:
        book.apply_execution(item)
    once = book.state(T0 + len(rows))

    replayed = [book.apply_execution(item) for item in executions]

    assert all(result.duplicate for result in replayed)
    assert book.state(T0 + len(rows)) == once


@given(fills)
def test_a_replica_fed_the_published_changes_agrees_with_the_source(
    rows: list[tuple[Side, int, int, int, str]],
) -> None:
    source, replica = Portfolio(D(1000)), Portfolio(D(1000))
    for item in _executions(rows):
        change = source.apply_execution(item).change
        assert change is not None
        replica.apply_position(change)

    end = T0 + len(rows)
    assert replica.state(end) == source.state(end)
