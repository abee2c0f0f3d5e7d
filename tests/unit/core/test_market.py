"""MarketBooks over the real recording and over injected faults."""

from __future__ import annotations

import itertools

import orjson
import pytest

from tests.support.recordings import FINAL_BOOKS, OB200, frames
from tradestream.core.errors import BadInputError
from tradestream.core.market import MarketBooks, MarketConfig, decimal_text, with_age
from tradestream.core.order_book import DeltaOutcome


def replay_books() -> MarketBooks:
    books = MarketBooks(clock=lambda: 42)
    for raw in frames(OB200):
        assert books.apply(raw, recv_ts_ms=1).outcome is DeltaOutcome.APPLIED
    return books


def test_recording_rebuilds_the_known_final_books() -> None:
    books = replay_books()
    for symbol, (bid, ask) in FINAL_BOOKS.items():
        record = books.status_record(symbol, top_n=1)
        assert record["status"] == "valid"
        assert (record["bids"][0][0], record["asks"][0][0]) == (bid, ask)
        assert record["gaps"] == 0


def test_book_top_is_emitted_only_when_the_top_changes() -> None:
    books = MarketBooks(clock=lambda: 7)
    emitted = [books.apply(raw, 1).book_top for raw in frames(OB200)]
    tops = [t for t in emitted if t is not None]
    assert 4 <= len(tops) < len(emitted)
    pairs = [(t.symbol, t.bid_px, t.bid_sz, t.ask_px, t.ask_sz) for t in tops]
    for prev, cur in itertools.pairwise(pairs):
        assert prev != cur or prev[0] != cur[0]
    assert tops[0].produced_ts_ms == 7


def test_every_book_top_writes_the_best_levels_of_the_book_as_it_is() -> None:
    books = MarketBooks(clock=lambda: 7)
    checked = 0
    for raw in frames(OB200):
        top = books.apply(raw, 1).book_top
        if top is None:
            continue
        book = books.book(top.symbol)
        assert book is not None
        best = [side.best() or (0.0, 0.0) for side in (book.bids, book.asks)]
        expected = [decimal_text(x) for level in best for x in level]
        assert [top.bid_px, top.bid_sz, top.ask_px, top.ask_sz] == expected
        checked += 1
    assert checked > 100


def test_a_best_price_that_comes_back_is_written_again() -> None:
    books = MarketBooks(clock=lambda: 7)
    books.apply(_frame("snapshot", 1, 1, [["10.5", "1"], ["10.4", "1"]], [["10.6", "1"]]), 1)
    gone = books.apply(_frame("delta", 2, 2, [["10.5", "0"]], []), 1).book_top
    back = books.apply(_frame("delta", 3, 3, [["10.5", "2"]], []), 1).book_top
    assert gone is not None
    assert back is not None
    assert (gone.bid_px, gone.bid_sz) == ("10.4", "1")
    assert (back.bid_px, back.bid_sz) == ("10.5", "2")
    assert back.ask_px == "10.6"


def _frame(kind: str, u: int, seq: int, bids: list[list[str]], asks: list[list[str]]) -> bytes:
    return orjson.dumps(
        {
            "topic": "orderbook.50.ABCUSDT",
            "type": kind,
            "ts": 1000 + u,
            "cts": 999 + u,
            "data": {"s": "ABCUSDT", "b": bids, "a": asks, "u": u, "seq": seq},
        }
    )


def test_gap_requests_one_resync_until_a_snapshot_repairs_the_book() -> None:
    books = MarketBooks(clock=lambda: 5)
    books.apply(_frame("snapshot", 10, 100, [["1.0", "1"]], [["1.1", "1"]]), 1)
    gap = books.apply(_frame("delta", 12, 101, [], []), 1)
    assert gap.outcome is DeltaOutcome.GAP
    assert gap.resync is not None
    assert gap.resync.symbol == "ABCUSDT"
    assert gap.book_top is not None
    assert gap.book_top.status == "invalid"
    again = books.apply(_frame("delta", 13, 102, [], []), 1)
    assert again.resync is None
    assert again.book_top is None
    healed = books.apply(_frame("snapshot", 20, 200, [["1.0", "2"]], [["1.1", "1"]]), 1)
    assert healed.book_top is not None
    assert healed.book_top.status == "valid"


def test_an_unanswered_resync_is_asked_again_after_the_retry_interval() -> None:
    now = [1_000]
    books = MarketBooks(clock=lambda: now[0], config=MarketConfig(resync_retry_ms=5_000))
    books.apply(_frame("snapshot", 10, 100, [["1.0", "1"]], [["1.1", "1"]]), 1)
    assert books.apply(_frame("delta", 12, 101, [], []), 1).resync is not None
    now[0] += 4_999
    assert books.apply(_frame("delta", 13, 102, [], []), 1).resync is None
    now[0] += 1
    again = books.apply(_frame("delta", 14, 103, [], []), 1).resync
    assert again is not None
    assert (again.reason, again.requested_ts_ms) == ("not_ready", 6_000)
    now[0] += 1_000
    assert books.apply(_frame("delta", 15, 104, [], []), 1).resync is None


def test_a_snapshot_restarts_the_resync_clock() -> None:
    now = [0]
    books = MarketBooks(clock=lambda: now[0], config=MarketConfig(resync_retry_ms=5_000))
    books.apply(_frame("snapshot", 10, 100, [["1.0", "1"]], [["1.1", "1"]]), 1)
    assert books.apply(_frame("delta", 12, 101, [], []), 1).resync is not None
    now[0] += 1_000
    books.apply(_frame("snapshot", 20, 200, [["1.0", "1"]], [["1.1", "1"]]), 1)
    second_gap = books.apply(_frame("delta", 22, 201, [], []), 1)
    assert second_gap.resync is not None
    assert second_gap.resync.reason == "gap"


def test_delta_before_any_snapshot_asks_for_a_resync() -> None:
    books = MarketBooks(clock=lambda: 5)
    update = books.apply(_frame("delta", 3, 100, [], []), 1)
    assert update.outcome is DeltaOutcome.NOT_READY
    assert update.resync is not None
    assert update.book_top is None


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"topic":"orderbook.50.X","type":"delta"}',
        b"{",
        _frame("weird", 1, 1, [], []),
        b'{"topic":"orderbook.50.X","type":"delta","ts":1,'
        b'"data":{"s":"X","b":[["1"]],"a":[],"u":1,"seq":1}}',
    ],
)
def test_malformed_frames_raise_bad_input(raw: bytes) -> None:
    with pytest.raises(BadInputError):
        MarketBooks(clock=lambda: 0).apply(raw, 1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (65114.2, "65114.2"),
        (0.07055, "0.07055"),
        (12000000.0, "12000000"),
        (1.234e-05, "0.00001234"),
    ],
)
def test_decimal_text_is_plain(value: float, text: str) -> None:
    assert decimal_text(value) == text


def test_silent_book_is_reported_stale_with_its_age() -> None:
    now = [1_000]
    books = MarketBooks(clock=lambda: now[0])
    books.apply(_frame("snapshot", 10, 100, [["1.0", "1"]], [["1.1", "1"]]), 1_000)
    assert books.staleness("ABCUSDT", now[0]) == (False, 0)
    now[0] = 1_000 + books.config.stale_after_ms + 1
    record = books.status_record("ABCUSDT")
    assert "stale" not in record  # a record is read later than it is written
    assert with_age(record, now[0])["stale"] is True
    assert with_age(record, now[0])["age_ms"] == books.config.stale_after_ms + 1
    assert books.staleness("ABCUSDT", now[0]) == (True, books.config.stale_after_ms + 1)
    assert record["status"] == "valid"
