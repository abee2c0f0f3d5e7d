"""The order book: apply, cap, integrity rules, and agreement with a naive reference."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.order_book import BookStatus, DeltaOutcome, OrderBook


def lv(levels: Iterable[Iterable[str]]) -> list[tuple[float, float]]:
    """Parse exchange-string levels as the decoder does (``float`` of each string)."""
    return [(float(price), float(size)) for price, size in levels]


def make_book(depth: int = 200) -> OrderBook:
    book = OrderBook("BTCUSDT", depth)
    book.on_snapshot(
        10, 100, 1, lv([["100.0", "1"], ["99.5", "2"]]), lv([["100.5", "3"], ["101", "4"]])
    )
    return book


def test_snapshot_makes_book_valid_with_best_levels() -> None:
    book = make_book()
    assert book.status is BookStatus.VALID
    assert book.bids.best() == (100.0, 1.0)
    assert book.asks.best() == (100.5, 3.0)
    assert book.bids.top(5) == [(100.0, 1.0), (99.5, 2.0)]
    assert book.asks.top(1) == [(100.5, 3.0)]


def test_delta_updates_inserts_and_deletes_levels() -> None:
    book = make_book()
    outcome = book.on_delta(11, 101, 2, lv([["100.0", "0"], ["99.8", "5"]]), lv([["100.5", "7"]]))
    assert outcome is DeltaOutcome.APPLIED
    assert book.bids.top(5) == [(99.8, 5.0), (99.5, 2.0)]
    assert book.asks.best() == (100.5, 7.0)
    assert book.last_u == 11


def test_deleting_an_absent_level_is_harmless() -> None:
    book = make_book()
    assert book.on_delta(11, 101, 2, lv([["42", "0"]]), lv([])) is DeltaOutcome.APPLIED
    assert len(book.bids) == 2


def test_gap_invalidates_until_next_snapshot() -> None:
    book = make_book()
    assert book.on_delta(13, 101, 2, lv([]), lv([])) is DeltaOutcome.GAP
    assert book.status is BookStatus.INVALID
    assert book.counters.gaps == 1
    assert book.on_delta(14, 102, 3, lv([]), lv([])) is DeltaOutcome.NOT_READY
    book.on_snapshot(20, 200, 4, lv([["1", "1"]]), lv([["2", "1"]]))
    assert book.status is BookStatus.VALID


def test_duplicate_and_old_updates_are_ignored_and_counted() -> None:
    book = make_book()
    book.on_delta(11, 101, 2, lv([["100.0", "9"]]), lv([]))
    assert book.on_delta(11, 101, 2, lv([["100.0", "1"]]), lv([])) is DeltaOutcome.DUPLICATE
    assert book.on_delta(5, 90, 2, lv([]), lv([])) is DeltaOutcome.DUPLICATE
    assert book.bids.best() == (100.0, 9.0)
    assert book.counters.duplicates == 2
    assert book.status is BookStatus.VALID


def test_seq_going_backwards_invalidates() -> None:
    book = make_book()
    assert book.on_delta(11, 99, 2, lv([]), lv([])) is DeltaOutcome.SEQ_REGRESSION
    assert book.status is BookStatus.INVALID


def test_crossed_book_is_invalid() -> None:
    book = make_book()
    assert book.on_delta(11, 101, 2, lv([["100.6", "1"]]), lv([])) is DeltaOutcome.CROSSED
    assert book.status is BookStatus.INVALID


def test_restart_snapshot_with_u_1_resets_and_counts() -> None:
    book = make_book()
    book.on_snapshot(1, 500, 9, lv([["50", "1"]]), lv([["51", "1"]]))
    assert book.counters.restarts == 1
    assert book.status is BookStatus.VALID
    assert book.bids.top(10) == [(50.0, 1.0)]
    assert book.on_delta(2, 501, 10, lv([]), lv([])) is DeltaOutcome.APPLIED


def test_depth_cap_drops_levels_furthest_from_touch() -> None:
    book = OrderBook("X", 2)
    book.on_snapshot(
        1, 1, 1, lv([["3", "1"], ["2", "1"], ["1", "1"]]), lv([["4", "1"], ["5", "1"], ["6", "1"]])
    )
    assert [p for p, _ in book.bids.top(10)] == [3.0, 2.0]
    assert [p for p, _ in book.asks.top(10)] == [4.0, 5.0]
    assert book.bids.prices == [2.0, 3.0]
    assert book.asks.prices == [4.0, 5.0]
    assert len(book.bids.sizes) == len(book.asks.sizes) == 2


prices = st.integers(min_value=1, max_value=60).map(lambda t: f"{t / 2:.1f}")
sizes = st.sampled_from(["0", "0", "0.001", "1", "2.5", "10"])
levels = st.lists(st.tuples(prices, sizes), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(levels, levels), max_size=30))
def test_book_matches_naive_reference(deltas: list[tuple[list[tuple[str, str]], ...]]) -> None:
    book = OrderBook("X", 1000)
    ref_bids: dict[float, float] = {}
    ref_asks: dict[float, float] = {}
    book.on_snapshot(1, 1, 1, lv([]), lv([]))
    for u, (bids, asks) in enumerate(deltas, start=2):
        book.bids.apply(lv(bids))
        book.asks.apply(lv(asks))
        for ref, side in ((ref_bids, bids), (ref_asks, asks)):
            for p, s in side:
                if float(s) == 0:
                    ref.pop(float(p), None)
                else:
                    ref[float(p)] = float(s)
        assert book.bids.top(1000) == sorted(ref_bids.items(), reverse=True)
        assert book.asks.top(1000) == sorted(ref_asks.items())
        assert 0.0 not in book.bids.sizes
        assert 0.0 not in book.asks.sizes
        del u


low = st.lists(st.tuples(st.integers(1, 30).map(lambda t: f"{t / 2:.1f}"), sizes), max_size=8)
high = st.lists(st.tuples(st.integers(31, 60).map(lambda t: f"{t / 2:.1f}"), sizes), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(low, high), max_size=30), st.integers(min_value=1, max_value=6))
def test_top_and_best_moved_are_never_false_when_they_changed(
    deltas: list[tuple[list[tuple[str, str]], ...]], window: int
) -> None:
    book = OrderBook("X", 1000, window=window)
    book.on_snapshot(1, 1, 1, lv([["1", "1"]]), lv([["31", "1"]]))
    for u, (bids, asks) in enumerate(deltas, start=2):
        before = (book.bids.top(window), book.asks.top(window))
        best_before = (book.bids.best(), book.asks.best())
        assert book.on_delta(u, u, u, lv(bids), lv(asks)) is DeltaOutcome.APPLIED
        if not book.top_moved:
            assert (book.bids.top(window), book.asks.top(window)) == before
        if not book.best_moved:
            assert (book.bids.best(), book.asks.best()) == best_before
