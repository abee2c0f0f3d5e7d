"""Turn raw Bybit frames into books, features, candles, top-of-book records and resync requests.

Pure logic shared by the live market agent, the backtester and benchmarks: bytes in, records
out, no I/O. The caller supplies the receive time and the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec

from tradestream.core.book_analytics import BookAnalytics
from tradestream.core.candles.bar_builder import BarCounts, SymbolBars
from tradestream.core.candles.candle import Candle
from tradestream.core.candles.records import trade_candle_record
from tradestream.core.errors import BadInputError, InsaneFrameError
from tradestream.core.features import FeatureEngine
from tradestream.core.frame_checks import check_orderbook, check_trades
from tradestream.core.market_config import MarketConfig
from tradestream.core.order_book import BookStatus, DeltaOutcome, OrderBook
from tradestream.schemas.bybit import (
    OrderbookFrame,
    PublicTradeFrame,
    orderbook_decoder,
    symbol_of_topic,
    trade_decoder,
)
from tradestream.schemas.market import BookTop, CandleRecord, Features, RequestResync

__all__ = [
    "BookUpdate",
    "Clock",
    "MarketBooks",
    "MarketConfig",
    "decimal_text",
    "decode_orderbook",
    "decode_trades",
    "feature_names",
    "judge_age",
    "names_id",
    "with_age",
]

Clock = Callable[[], int]
_INVALIDATING: Final = frozenset(
    {DeltaOutcome.GAP, DeltaOutcome.SEQ_REGRESSION, DeltaOutcome.CROSSED, DeltaOutcome.REJECTED}
)


@dataclass(slots=True)
class BookUpdate:
    """What one frame changed: records to publish and/or a resync to request."""

    symbol: str
    outcome: DeltaOutcome
    book_top: BookTop | None = None
    resync: RequestResync | None = None
    features: Features | None = None
    candles: list[CandleRecord] | None = None


class _Tracked:
    __slots__ = (
        "analytics",
        "ask_text",
        "bars",
        "bid_text",
        "book",
        "features",
        "features_at",
        "last_recv_ms",
        "last_top",
        "resync_requested_at",
    )

    def __init__(
        self, book: OrderBook, features: FeatureEngine, bars: SymbolBars, analytics: BookAnalytics
    ) -> None:
        self.book = book
        self.features = features
        self.analytics = analytics
        self.bars = bars
        self.last_top: tuple[Any, ...] = ()
        # The best prices' texts as last written: the best price often stays while sizes move.
        self.bid_text: tuple[float, str] = (0.0, "0")
        self.ask_text: tuple[float, str] = (0.0, "0")
        self.resync_requested_at: int | None = None
        self.features_at = -(2**62)
        self.last_recv_ms = 0


def decimal_text(value: float) -> str:
    """Write a price or size parsed from an exchange string back as a plain decimal string."""
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def decode_orderbook(raw: bytes) -> OrderbookFrame:
    """Decode one order-book frame, turning any malformation into a dead-letterable error."""
    try:
        frame = orderbook_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a Bybit orderbook frame: {exc}") from exc
    if frame.type not in ("snapshot", "delta"):
        raise BadInputError(f"unknown orderbook frame type {frame.type!r}")
    return frame


def decode_trades(raw: bytes) -> PublicTradeFrame:
    """Decode one public-trade frame, turning any malformation into a dead-letterable error."""
    try:
        return trade_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a Bybit publicTrade frame: {exc}") from exc


def judge_age(last_recv_ms: int, stale_after_ms: int, now_ms: int) -> tuple[bool, int]:
    """Return whether a book last heard from at ``last_recv_ms`` is stale now, and its age."""
    age = max(now_ms - last_recv_ms, 0)
    return age > stale_after_ms, age


def with_age(record: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Return a status record with its ``age_ms`` and ``stale`` as of ``now_ms`` (read time)."""
    stale, age = judge_age(record["last_recv_ms"], record["stale_after_ms"], now_ms)
    return {**record, "stale": stale, "age_ms": age}


def names_id(names: tuple[str, ...]) -> str:
    """Fingerprint a feature schema so consumers notice when it changes."""
    return hashlib.blake2b("\n".join(names).encode(), digest_size=6).hexdigest()


def feature_names(config: MarketConfig) -> tuple[str, ...]:
    """Return the names of the published feature vector: the engine's, then the analytics'."""
    return FeatureEngine(config.features).names + BookAnalytics(config.analytics).names


class MarketBooks:
    """All books and feature engines a market agent owns, keyed by symbol."""

    def __init__(self, clock: Clock, config: MarketConfig | None = None) -> None:
        self._clock = clock
        self.config = config or MarketConfig()
        self._tracked: dict[str, _Tracked] = {}
        self.feature_names = feature_names(self.config)
        self._analytics_levels = self.config.analytics.levels
        self.names_id = names_id(self.feature_names)
        self._levels = self.config.features.levels
        self._features_interval_ms = self.config.features_interval_ms
        self._candle_intervals_s = tuple(self.config.candle_intervals_s)
        self._candle_grace_ms = self.config.candle_close_grace_ms
        # Late trades and clock-closed bars per interval, over every symbol ever tracked here.
        self.bar_counts = {interval_s: BarCounts() for interval_s in self._candle_intervals_s}

    def book(self, symbol: str) -> OrderBook | None:
        """Return the live book of ``symbol`` if one is kept."""
        tracked = self._tracked.get(symbol)
        return tracked.book if tracked is not None else None

    def symbols(self) -> list[str]:
        """Return the symbols with a book, sorted."""
        return sorted(self._tracked)

    def forget(self, symbol: str) -> None:
        """Drop a symbol's book and features (its partition moved to another worker)."""
        self._tracked.pop(symbol, None)

    def _track(self, symbol: str, depth: int) -> _Tracked:
        book = OrderBook(symbol, depth, window=self._levels)
        # complete_only: the first bar after a start or rebalance may lack earlier trades.
        bars = SymbolBars(
            symbol, self._candle_intervals_s, self._candle_grace_ms, True, self.bar_counts
        )
        analytics = BookAnalytics(self.config.analytics)
        tracked = _Tracked(book, FeatureEngine(self.config.features), bars, analytics)
        self._tracked[symbol] = tracked
        return tracked

    def apply(self, raw: bytes, recv_ts_ms: int) -> BookUpdate:
        """Apply one raw order-book frame and say what to publish.

        An insane frame (``core/frame_checks.py``) raises ``InsaneFrameError`` and leaves every
        level untouched; if it was a frame of a book we keep, that book is invalidated first and
        the error carries what to publish about it (its invalid top, a resync request).
        """
        frame = decode_orderbook(raw)
        data = frame.data
        tracked = self._tracked.get(data.s)
        try:
            depth = check_orderbook(frame)
        except InsaneFrameError as exc:
            if tracked is None or symbol_of_topic(frame.topic) != data.s:
                raise  # no book of ours, or not sure whose
            raise InsaneFrameError(str(exc), self._reject(tracked, frame, recv_ts_ms)) from None
        if tracked is None:
            tracked = self._track(data.s, depth)
        elif tracked.book.depth != depth and frame.type == "snapshot":
            tracked.book = OrderBook(data.s, depth, window=self._levels)  # re-subscribed
        elif tracked.book.depth != depth:
            raise InsaneFrameError(
                f"a depth-{depth} delta for the depth-{tracked.book.depth} book of {data.s}",
                self._reject(tracked, frame, recv_ts_ms),
            )
        book = tracked.book
        tracked.last_recv_ms = recv_ts_ms
        ts = frame.ts
        if frame.type == "snapshot":
            outcome = book.on_snapshot(data.u, data.seq, ts, data.b, data.a)
            tracked.resync_requested_at = None
            tracked.features.reset_book()
            tracked.analytics.reset_book()
        else:
            outcome = book.on_delta(data.u, data.seq, ts, data.b, data.a)
        update = BookUpdate(data.s, outcome)
        if ts >= tracked.bars.due_ms:  # the book's exchange time closes a quiet symbol's bars
            tracked.bars.on_clock(ts)
            update.candles = self._candle_records(tracked.bars.take(), ts)
        if outcome is DeltaOutcome.APPLIED:
            self._feed_book(tracked, ts)
            update.features = self._maybe_features(tracked, ts, recv_ts_ms)
        else:
            update.resync = self._maybe_resync(tracked, outcome)
        update.book_top = self._maybe_top(tracked, frame, recv_ts_ms)
        return update

    def _reject(self, tracked: _Tracked, frame: OrderbookFrame, recv_ts_ms: int) -> BookUpdate:
        # An insane frame of a kept book: distrust the book and ask for a fresh snapshot.
        outcome = tracked.book.reject()
        update = BookUpdate(tracked.book.symbol, outcome)
        update.resync = self._maybe_resync(tracked, outcome)
        update.book_top = self._maybe_top(tracked, frame, recv_ts_ms)
        return update

    def apply_trades(self, raw: bytes, recv_ts_ms: int) -> BookUpdate | None:
        """Feed one raw public-trade frame to its symbol's features; say what to publish."""
        frame = decode_trades(raw)
        check_trades(frame)
        if not frame.data:
            return None
        symbol = frame.data[0].s
        tracked = self._tracked.get(symbol)
        if tracked is None:
            tracked = self._track(symbol, 200)
        engine = tracked.features
        analytics = tracked.analytics
        bars = tracked.bars
        for trade in frame.data:
            price = float(trade.p)
            size = float(trade.v)
            is_buy = trade.S == "Buy"
            engine.on_trade(trade.T, price, size, is_buy)
            analytics.on_trade(trade.T, price, size, is_buy)
            bars.on_trade(trade.T, price, size)
        bars.settle()
        update = BookUpdate(symbol, DeltaOutcome.APPLIED)
        update.features = self._maybe_features(tracked, frame.ts, recv_ts_ms)
        if bars.closed:
            update.candles = self._candle_records(bars.take(), frame.data[-1].T)
        return update

    def _candle_records(self, candles: list[Candle], ts_ms: int) -> list[CandleRecord] | None:
        # The bars a trade or a book frame at exchange time ts_ms closed, as md.candles records.
        if not candles:
            return None
        now = self._clock()
        return [trade_candle_record(candle, ts_ms, now) for candle in candles]

    def _feed_book(self, tracked: _Tracked, ts_ms: int) -> None:
        # The top N as slices of the book's aligned lists, unless the update left them alone.
        book = tracked.book
        if not book.top_moved:
            tracked.features.on_book_unchanged(ts_ms)
            return
        n = self._levels
        bid_px, bid_sz = book.bids.top_lists(n)
        ask_px, ask_sz = book.asks.top_lists(n)
        tracked.features.on_book(ts_ms, bid_px, bid_sz, ask_px, ask_sz)

    def _maybe_features(self, tracked: _Tracked, ts_ms: int, recv_ts_ms: int) -> Features | None:
        book = tracked.book
        if book.status is not BookStatus.VALID:
            return None
        if ts_ms - tracked.features_at < self._features_interval_ms:
            return None
        tracked.features_at = ts_ms
        # The book analytics look at the book as each feature vector is published, not at every
        # delta: at 50 levels a look costs 20-40 µs, several times a whole delta's processing.
        k = self._analytics_levels
        bid_px, bid_sz = book.bids.top_lists(k)
        ask_px, ask_sz = book.asks.top_lists(k)
        tracked.analytics.on_book(ts_ms, bid_px, bid_sz, ask_px, ask_sz)
        return Features(
            symbol=book.symbol,
            book_status=book.status.value,
            names_id=self.names_id,
            values=tracked.features.values() + tracked.analytics.values(),
            exchange_ts_ms=ts_ms,
            recv_ts_ms=recv_ts_ms,
            produced_ts_ms=self._clock(),
        )

    def _maybe_resync(self, tracked: _Tracked, outcome: DeltaOutcome) -> RequestResync | None:
        needs = outcome in _INVALIDATING or outcome is DeltaOutcome.NOT_READY
        if not needs:
            return None
        now = self._clock()
        last = tracked.resync_requested_at
        if last is not None and now - last < self.config.resync_retry_ms:
            return None
        tracked.resync_requested_at = now
        return RequestResync(symbol=tracked.book.symbol, reason=outcome.value, requested_ts_ms=now)

    def _maybe_top(
        self, tracked: _Tracked, frame: OrderbookFrame, recv_ts_ms: int
    ) -> BookTop | None:
        book = tracked.book
        status = book.status
        last = tracked.last_top  # (status, bid, ask) of the last book top published
        if status is BookStatus.EMPTY or (not book.best_moved and last and last[0] is status):
            return None
        bid = book.bids.best() or (0.0, 0.0)
        ask = book.asks.best() or (0.0, 0.0)
        key = (book.status, bid, ask)
        if key == tracked.last_top:
            return None
        tracked.last_top = key
        if bid[0] != tracked.bid_text[0]:
            tracked.bid_text = (bid[0], decimal_text(bid[0]))
        if ask[0] != tracked.ask_text[0]:
            tracked.ask_text = (ask[0], decimal_text(ask[0]))
        return BookTop(
            symbol=book.symbol,
            status=book.status.value,
            bid_px=tracked.bid_text[1],
            bid_sz=decimal_text(bid[1]),
            ask_px=tracked.ask_text[1],
            ask_sz=decimal_text(ask[1]),
            u=book.last_u,
            seq=book.last_seq,
            exchange_ts_ms=frame.ts,
            cts_ms=frame.cts,
            recv_ts_ms=recv_ts_ms,
            produced_ts_ms=self._clock(),
        )

    def staleness(self, symbol: str, now_ms: int) -> tuple[bool, int]:
        """Return whether a book has been silent too long to trade on, and its age in ms."""
        return judge_age(self._tracked[symbol].last_recv_ms, self.config.stale_after_ms, now_ms)

    def status_record(self, symbol: str, top_n: int = 5) -> dict[str, Any]:
        """Describe a book for the status table and web views (JSON-ready).

        The record says when the book last heard from the exchange (``last_recv_ms``) and the
        threshold it is judged by, not whether it is stale: a record is read later than it is
        written, so age and staleness are computed by whoever reads it (``with_age``).
        """
        tracked = self._tracked[symbol]
        book = tracked.book
        counters = book.counters
        return {
            "symbol": symbol,
            "status": book.status.value,
            "last_recv_ms": tracked.last_recv_ms,
            "stale_after_ms": self.config.stale_after_ms,
            "depth": book.depth,
            "last_u": book.last_u,
            "last_seq": book.last_seq,
            "last_ts_ms": book.last_ts_ms,
            "snapshots": counters.snapshots,
            "restarts": counters.restarts,
            "deltas": counters.deltas,
            "duplicates": counters.duplicates,
            "gaps": counters.gaps,
            "seq_regressions": counters.seq_regressions,
            "crossed": counters.crossed,
            "not_ready": counters.not_ready,
            "rejected": counters.rejected,
            "bids": [[decimal_text(p), decimal_text(s)] for p, s in book.bids.top(top_n)],
            "asks": [[decimal_text(p), decimal_text(s)] for p, s in book.asks.top(top_n)],
        }
