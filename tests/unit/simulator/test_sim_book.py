"""The server's book applies deltas exactly and derives capped depths a client can follow."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.errors import BadInputError
from tradestream.simulator.book import Book, BookSide, DepthView, Level, make_level

pytestmark = pytest.mark.timeout(60)


def bid(price: str, size: str) -> Level:
    return make_level(price, size, bid=True)


def ask(price: str, size: str) -> Level:
    return make_level(price, size, bid=False)


def test_levels_sort_best_first_on_both_sides() -> None:
    side = BookSide()
    side.apply([bid("100.0", "1"), bid("100.5", "2"), bid("99.9", "3")])

    assert [level[1:] for level in side.top(2)] == [("100.5", "2"), ("100.0", "1")]
    other = BookSide()
    other.apply([ask("100.5", "1"), ask("100.1", "2")])
    assert [level[1] for level in other.top(5)] == ["100.1", "100.5"]


def test_a_zero_size_deletes_and_a_repeat_replaces() -> None:
    side = BookSide()
    side.apply([bid("1.0", "5"), bid("2.0", "5")])

    side.apply([bid("1.0", "0.000"), bid("2.0", "7"), bid("3.0", "0")])

    assert [level[1:] for level in side.top(10)] == [("2.0", "7")]


def test_keys_are_exact_so_equal_prices_in_other_notation_meet() -> None:
    assert bid("65114.20", "1")[0] == bid("65114.2", "1")[0]
    assert ask("0.07055", "1")[0] < ask("0.07056", "1")[0]


@pytest.mark.parametrize(("price", "size"), [("abc", "1"), ("1", "x"), ("1e-20", "1")])
def test_unreadable_levels_are_bad_input(price: str, size: str) -> None:
    with pytest.raises(BadInputError):
        make_level(price, size, bid=True)


def test_changes_to_turns_one_side_into_another() -> None:
    side = BookSide()
    side.apply([ask("1", "1"), ask("2", "2"), ask("3", "3")])
    target = [ask("2", "2"), ask("3", "4"), ask("4", "1")]

    changes = side.changes_to(target)
    side.apply(changes)

    assert [level[1:] for level in changes] == [("1", "0"), ("3", "4"), ("4", "1")]
    assert side.top(10) == target


prices = st.integers(min_value=1, max_value=60).map(lambda tick: f"{tick / 10:.1f}")
sizes = st.sampled_from(["0", "0", "1", "2.5", "3"])
deltas = st.lists(st.tuples(st.booleans(), prices, sizes), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(deltas, min_size=1, max_size=30), st.sampled_from([1, 3, 10]))
def test_a_client_applying_derived_deltas_holds_the_books_top_levels(
    updates: list[list[tuple[bool, str, str]]], depth: int
) -> None:
    book = Book()
    view = DepthView(depth)
    view.reset(book)
    client: dict[bool, dict[str, str]] = {True: {}, False: {}}
    for update in updates:
        bids = [bid(price, size) for is_bid, price, size in update if is_bid]
        asks = [ask(price, size) for is_bid, price, size in update if not is_bid]
        book.apply(bids, asks)
        changes = view.update(book, bids, asks)
        for is_bid, levels in zip((True, False), changes or ([], []), strict=True):
            for _, price, size in levels:
                if size == "0":
                    del client[is_bid][price]
                else:
                    client[is_bid][price] = size
        assert client[True] == {p: s for _, p, s in book.bids.top(depth)}
        assert client[False] == {p: s for _, p, s in book.asks.top(depth)}
