"""Frames that parse but make no sense never reach a book: single-field mutations of frames."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import warnings
from typing import Any

import orjson
import pytest

from tests.support.recordings import OB200, TRADES, frames
from tradestream.core.errors import BadInputError, InsaneFrameError
from tradestream.core.market import BookUpdate, MarketBooks, MarketConfig
from tradestream.core.order_book import BookStatus, DeltaOutcome, OrderBook

DELETE = object()
BAD_VALUES: tuple[Any, ...] = (
    "-1", "NaN", "nan", "inf", "-inf", "1e400", "-1e400", "0", "-0", "1e-400", "abc", "", None,
    True, [], {}, -1, 0, 1.5, 2**63, 2**64, -(2**63), "1e308", DELETE,
)  # fmt: skip
LEVEL_VALUES: tuple[Any, ...] = (
    "-1",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "0",
    "-0",
    "1e-400",
    "abc",
    None,
    -5,
    2**64,
    "1e308",
)


def sane(book: OrderBook) -> bool:
    """Tell whether every level is finite, positive and in order, and the book is not crossed."""
    for side in (book.bids, book.asks):
        if any(not (0.0 < p < math.inf) for p in side.prices):
            return False
        if any(not (0.0 < s < math.inf) for s in side.sizes):
            return False
        if side.prices != sorted(set(side.prices)):
            return False
    bids, asks = book.bids.prices, book.asks.prices
    return not (bids and asks and bids[-1] >= asks[0])


def levels(book: OrderBook) -> tuple[Any, ...]:
    return (book.status, list(book.bids.prices), list(book.bids.sizes), list(book.asks.prices),
            list(book.asks.sizes), book.last_u)  # fmt: skip


def mutate(raw: bytes, rng: random.Random) -> bytes:
    """Change one field of one frame to a value no one prepared."""
    frame = orjson.loads(raw)
    data = frame["data"]
    places: list[tuple[Any, Any, tuple[Any, ...]]] = [
        (frame, key, BAD_VALUES) for key in ("topic", "type", "ts", "cts")
    ]
    places += [(data, key, BAD_VALUES) for key in ("s", "u", "seq", "b", "a")]
    for side in ("b", "a"):
        for level in data[side]:
            places += [(level, 0, LEVEL_VALUES), (level, 1, LEVEL_VALUES)]
    holder, key, values = rng.choice(places)
    value = rng.choice(values)
    if value is DELETE and isinstance(holder, dict):
        del holder[key]
    else:
        holder[key] = value if value is not DELETE else "x"
    return json.dumps(frame, separators=(",", ":")).encode()  # orjson refuses 2**64


def resync_frame(book: OrderBook, symbol: str) -> bytes:
    """Answer a resync as the exchange would: a snapshot of the true book at its last ``u``."""
    bids = [[repr(p), repr(s)] for p, s in book.bids.top(book.depth)]
    asks = [[repr(p), repr(s)] for p, s in book.asks.top(book.depth)]
    data = {"s": symbol, "b": bids, "a": asks, "u": book.last_u, "seq": book.last_seq}
    topic = f"orderbook.{book.depth}.{symbol}"
    return orjson.dumps({"topic": topic, "type": "snapshot", "ts": book.last_ts_ms, "data": data})


class Trial:
    """Replay the recording into a true set of books and a mutated one, side by side."""

    def __init__(self) -> None:
        self.ticks = itertools.count(0, 10)
        config = MarketConfig(features_interval_ms=0, resync_retry_ms=1)
        self.truth = MarketBooks(clock=lambda: 0)
        self.subject = MarketBooks(clock=lambda: next(self.ticks), config=config)
        self.refused = self.accepted = 0

    def step(self, raw: bytes, mutated: bytes | None) -> None:
        self.truth.apply(raw, 1)
        if mutated is None:
            self._answer(self.subject.apply(raw, 1))
            return
        before = {s: levels(b) for s in self.subject.symbols() if (b := self.subject.book(s))}
        try:
            update = self.subject.apply(mutated, 1)
        except BadInputError as exc:
            self.refused += 1
            self._check_refused(before, exc)
        else:
            self.accepted += 1
            self._answer(update)
        self._check_sane()

    def _check_refused(self, before: dict[str, tuple[Any, ...]], exc: BadInputError) -> None:
        update = exc.update if isinstance(exc, InsaneFrameError) else None
        for symbol, was in before.items():
            book = self.subject.book(symbol)
            assert book is not None
            if levels(book) == was:
                continue
            # changed: only by invalidating it, and a resync must have been asked for
            assert book.status is BookStatus.INVALID, (symbol, exc)
            assert update is not None, (symbol, exc)
            assert update.symbol == symbol, (symbol, exc)
            assert update.outcome is DeltaOutcome.REJECTED
            assert update.resync is not None, (symbol, exc)
            assert update.book_top is not None
            assert update.book_top.status == "invalid"
            self._answer(update)

    def _answer(self, update: BookUpdate) -> None:
        if update.resync is None:
            return
        true_book = self.truth.book(update.symbol)
        assert true_book is not None
        self.subject.apply(resync_frame(true_book, update.symbol), 1)

    def _check_sane(self) -> None:
        for symbol in self.subject.symbols():
            book = self.subject.book(symbol)
            assert book is not None
            if book.status is BookStatus.VALID:
                assert sane(book), symbol


@pytest.mark.parametrize("seed", range(5))
def test_no_single_field_mutation_leaves_a_valid_book_with_an_insane_level(seed: int) -> None:
    rng = random.Random(seed)
    trial = Trial()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value" from a NaN in the rings
        for raw in frames(OB200):
            trial.step(raw, mutate(raw, rng) if rng.random() < 0.15 else None)
    assert trial.refused + trial.accepted >= 200
    assert trial.refused > trial.accepted / 2  # most of these values are insane


def test_the_books_heal_after_the_resyncs() -> None:
    rng = random.Random(99)
    trial = Trial()
    raws = list(frames(OB200))
    for i, raw in enumerate(raws):
        trial.step(raw, mutate(raw, rng) if i < len(raws) // 2 and rng.random() < 0.1 else None)
    for symbol in trial.truth.symbols():
        book, truth = trial.subject.book(symbol), trial.truth.book(symbol)
        assert book is not None
        assert truth is not None
        assert book.status is BookStatus.VALID
        assert levels(book)[1:] == levels(truth)[1:] or book.last_u == truth.last_u


def snapshot(**change: Any) -> bytes:
    """Build a small BTCUSDT snapshot with some fields changed (2**64 needs the stdlib's json)."""
    data = {"s": "BTCUSDT", "b": [["100.5", "2"]], "a": [["100.6", "1"]], "u": 7, "seq": 70}
    frame: dict[str, Any] = {
        "topic": "orderbook.50.BTCUSDT",
        "type": "snapshot",
        "ts": 1,
        "data": data,
    }
    for key, value in change.items():
        (data if key in data else frame)[key] = value
    return json.dumps(frame).encode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"b": [["NaN", "1"]]}, "b[0] price nan is not a finite price above 0"),
        ({"a": [["100.6", "1"], ["100.7", "-1"]]}, "a[1] size -1.0 is not a finite size"),
        ({"a": [["inf", "1"]]}, "a[0] price inf"),
        ({"b": [["0", "1"]]}, "b[0] price 0.0"),
        ({"s": "ETHUSDT"}, "data.s 'ETHUSDT' is not the symbol of topic"),
        ({"topic": "orderbook.7.BTCUSDT"}, "no Bybit book has depth 7"),
        ({"topic": "orderbook.50"}, "is not orderbook.{depth}.{symbol}"),
        ({"u": 0}, "u 0 is outside"),
        ({"seq": -1}, "seq -1 is outside"),
        ({"u": 2**64}, "u 18446744073709551616 is outside"),
        ({"ts": -5}, "ts -5 is outside"),
    ],
)
def test_an_insane_snapshot_is_refused_with_its_reason(change: dict[str, Any], reason: str) -> None:
    books = MarketBooks(clock=lambda: 0)
    with pytest.raises(InsaneFrameError, match=re.escape(reason)):
        books.apply(snapshot(**change), 1)
    assert books.symbols() == []


def test_a_snapshot_deeper_than_its_topic_is_refused() -> None:
    too_deep = [[str(100 - i / 10), "1"] for i in range(51)]
    with pytest.raises(InsaneFrameError, match="snapshot of 51 bids"):
        MarketBooks(clock=lambda: 0).apply(snapshot(b=too_deep), 1)


def test_an_insane_delta_invalidates_the_book_and_asks_for_a_resync() -> None:
    books = MarketBooks(clock=lambda: 5)
    books.apply(snapshot(), 1)
    delta = orjson.loads(snapshot(u=8, seq=71, b=[["100.5", "NaN"]]))
    delta["type"] = "delta"
    with pytest.raises(InsaneFrameError) as refused:
        books.apply(orjson.dumps(delta), 2)
    update = refused.value.update
    assert update is not None
    assert update.resync is not None
    assert update.resync.reason == "rejected"
    book = books.book("BTCUSDT")
    assert book is not None
    assert (book.status, book.counters.rejected, book.bids.best()) == ("invalid", 1, (100.5, 2.0))


def test_a_delta_of_another_depth_is_refused_and_a_new_depth_starts_with_its_snapshot() -> None:
    books = MarketBooks(clock=lambda: 5)
    books.apply(snapshot(), 1)
    other = orjson.loads(snapshot(u=8, topic="orderbook.200.BTCUSDT"))
    other["type"] = "delta"
    with pytest.raises(InsaneFrameError, match="depth-200 delta for the depth-50 book"):
        books.apply(orjson.dumps(other), 1)
    books.apply(snapshot(u=9, topic="orderbook.200.BTCUSDT"), 1)
    book = books.book("BTCUSDT")
    assert book is not None
    assert (book.depth, book.status) == (200, BookStatus.VALID)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("p", "NaN", "data\\[0\\].p 'NaN' is not a finite price"),
        ("p", "-3", "data\\[0\\].p '-3'"),
        ("v", "0", "data\\[0\\].v '0' is not a finite size above 0"),
        ("v", "1e400", "data\\[0\\].v '1e400'"),
        ("p", "1,5", "data\\[0\\].p '1,5' is not a number"),
        ("S", "Hold", "data\\[0\\].S 'Hold' is neither Buy nor Sell"),
        ("s", "ETHUSDT", "data\\[0\\].s 'ETHUSDT' is not the topic's symbol"),
        ("T", -1, "data\\[0\\].T -1 is outside"),
    ],
)
def test_an_insane_trade_is_refused_and_feeds_nothing(field: str, value: Any, reason: str) -> None:
    raw = next(r for r in frames(TRADES) if b"BTCUSDT" in r)
    frame = orjson.loads(raw)
    frame["data"][0][field] = value
    books = MarketBooks(clock=lambda: 0)
    with pytest.raises(InsaneFrameError, match=reason):
        books.apply_trades(orjson.dumps(frame), 1)
    assert books.symbols() == []


def test_every_recorded_trade_frame_is_sane() -> None:
    books = MarketBooks(clock=lambda: 0)
    assert all(books.apply_trades(raw, 1) is not None for raw in frames(TRADES))
