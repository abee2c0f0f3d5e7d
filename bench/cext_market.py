"""The market agent's per-message path on the ``order-book`` C extension, for ``market_path.py``.

A separate implementation of ``MarketBooks.apply`` (same decode, integrity rules, features,
records) whose book sides are the C extension's sorted dicts, so that the comparison isolates the
book. It composes our code instead of subclassing it (compiled classes cannot be subclassed by
interpreted ones): the u/seq integrity state is our ``OrderBook`` fed no levels, and the feature
engine and record helpers are ours. ``make bench`` compiles this module with mypyc beside the
compiled package, so in the compiled run its glue is compiled like ``MarketBooks``'s.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any, Final

from tradestream.core.features import FeatureEngine
from tradestream.core.market import (
    BookUpdate,
    Clock,
    MarketConfig,
    decimal_text,
    decode_orderbook,
    names_id,
)
from tradestream.core.order_book import BookStatus, DeltaOutcome, Level, OrderBook
from tradestream.schemas.bybit import OrderbookFrame, depth_of_topic
from tradestream.schemas.market import BookTop, Features, RequestResync

order_book: Any = importlib.import_module("order_book")  # no type stubs
_INVALIDATING: Final = frozenset(
    {DeltaOutcome.GAP, DeltaOutcome.SEQ_REGRESSION, DeltaOutcome.CROSSED}
)


class CExtSide:
    """A book side on the C extension's sorted dict, with our ``BookSide`` reading methods."""

    def __init__(self, *, is_bid: bool, view: int) -> None:
        self._order = "DESC" if is_bid else "ASC"
        self._view = view
        self.levels: Any = order_book.SortedDict(ordering=self._order, max_depth=view)

    def clear(self) -> None:
        """Forget every level."""
        self.levels = order_book.SortedDict(ordering=self._order, max_depth=self._view)

    def apply(self, levels: Iterable[Level]) -> None:
        """Set each ``[price, size]`` level; size 0 deletes the level (our book's rule)."""
        side = self.levels
        for price_text, size_text in levels:
            price = float(price_text)
            size = float(size_text)
            if size == 0.0:
                if price in side:
                    del side[price]
            else:
                side[price] = size

    def best(self) -> tuple[float, float] | None:
        """Return the best (price, size), or None for an empty side."""
        levels = self.levels
        return levels.index(0) if len(levels) else None


class CExtOrderBook:
    """C-extension sides under our integrity rules (u continuity, seq order, crossed check)."""

    def __init__(self, symbol: str, depth: int, view: int) -> None:
        self.integrity = OrderBook(symbol, depth)  # the u/seq state machine; holds no levels
        self.bids = CExtSide(is_bid=True, view=view)
        self.asks = CExtSide(is_bid=False, view=view)

    def on_snapshot(self, u: int, seq: int, ts_ms: int, bids: Any, asks: Any) -> DeltaOutcome:
        """Reset to a snapshot."""
        self.integrity.on_snapshot(u, seq, ts_ms, [], [])
        self.bids.clear()
        self.asks.clear()
        self.bids.apply(bids)
        self.asks.apply(asks)
        return self._check_crossed()

    def on_delta(self, u: int, seq: int, ts_ms: int, bids: Any, asks: Any) -> DeltaOutcome:
        """Apply a delta if it continues the book (max_depth caps the view, not storage)."""
        outcome = self.integrity.on_delta(u, seq, ts_ms, [], [])
        if outcome is not DeltaOutcome.APPLIED:
            return outcome
        self.bids.apply(bids)
        self.asks.apply(asks)
        return self._check_crossed()

    def _check_crossed(self) -> DeltaOutcome:
        bid, ask = self.bids.best(), self.asks.best()
        if bid is not None and ask is not None and bid[0] >= ask[0]:
            self.integrity.counters.crossed += 1
            self.integrity.status = BookStatus.INVALID
            return DeltaOutcome.CROSSED
        return DeltaOutcome.APPLIED


class _Tracked:
    def __init__(self, book: CExtOrderBook, features: FeatureEngine) -> None:
        self.book = book
        self.features = features
        self.last_top: tuple[Any, ...] = ()
        self.resync_requested_at: int | None = None
        self.features_at = -(2**62)
        self.last_recv_ms = 0
        self.bid_text: tuple[float, str] = (0.0, "0")  # as in core/market.py
        self.ask_text: tuple[float, str] = (0.0, "0")


class CExtMarketBooks:
    """``MarketBooks.apply`` line for line, over ``CExtOrderBook``."""

    def __init__(self, clock: Clock, config: MarketConfig | None = None) -> None:
        self._clock = clock
        self.config = config or MarketConfig()
        self._tracked: dict[str, _Tracked] = {}
        self.names_id = names_id(FeatureEngine(self.config.features).names)
        self._levels = self.config.features.levels

    def book(self, symbol: str) -> CExtOrderBook | None:
        """Return the live book of ``symbol`` if one is kept."""
        tracked = self._tracked.get(symbol)
        return tracked.book if tracked is not None else None

    def _track(self, symbol: str, depth: int) -> _Tracked:
        tracked = self._tracked.get(symbol)
        if tracked is None:
            book = CExtOrderBook(symbol, depth, self._levels)
            tracked = _Tracked(book, FeatureEngine(self.config.features))
            self._tracked[symbol] = tracked
        return tracked

    def apply(self, raw: bytes, recv_ts_ms: int) -> BookUpdate:
        """Apply one raw order-book frame and say what to publish."""
        frame = decode_orderbook(raw)
        data = frame.data
        tracked = self._track(data.s, depth_of_topic(frame.topic))
        book = tracked.book
        tracked.last_recv_ms = recv_ts_ms
        if frame.type == "snapshot":
            outcome = book.on_snapshot(data.u, data.seq, frame.ts, data.b, data.a)
            tracked.resync_requested_at = None
            tracked.features.reset_book()
        else:
            outcome = book.on_delta(data.u, data.seq, frame.ts, data.b, data.a)
        update = BookUpdate(data.s, outcome)
        if outcome is DeltaOutcome.APPLIED:
            self._feed_book(tracked, frame.ts)
            update.features = self._maybe_features(tracked, frame.ts, recv_ts_ms)
        else:
            update.resync = self._maybe_resync(tracked, outcome)
        update.book_top = self._maybe_top(tracked, frame, recv_ts_ms)
        return update

    def _feed_book(self, tracked: _Tracked, ts_ms: int) -> None:
        # to_list() returns the best `levels` (the view depth) as (price, size) tuples.
        bids = tracked.book.bids.levels.to_list()
        asks = tracked.book.asks.levels.to_list()
        tracked.features.on_book(
            ts_ms,
            [price for price, _ in bids],
            [size for _, size in bids],
            [price for price, _ in asks],
            [size for _, size in asks],
        )

    def _maybe_features(self, tracked: _Tracked, ts_ms: int, recv_ts_ms: int) -> Features | None:
        book = tracked.book.integrity
        if book.status is not BookStatus.VALID:
            return None
        if ts_ms - tracked.features_at < self.config.features_interval_ms:
            return None
        tracked.features_at = ts_ms
        return Features(
            symbol=book.symbol,
            book_status=book.status.value,
            names_id=self.names_id,
            values=tracked.features.values(),
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
        symbol = tracked.book.integrity.symbol
        return RequestResync(symbol=symbol, reason=outcome.value, requested_ts_ms=now)

    def _maybe_top(
        self, tracked: _Tracked, frame: OrderbookFrame, recv_ts_ms: int
    ) -> BookTop | None:
        book = tracked.book.integrity
        if book.status is BookStatus.EMPTY:
            return None
        bid = tracked.book.bids.best() or (0.0, 0.0)
        ask = tracked.book.asks.best() or (0.0, 0.0)
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
