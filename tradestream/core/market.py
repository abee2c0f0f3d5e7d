"""Turn raw Bybit order-book frames into books, top-of-book records and resync requests.

Pure logic shared by the live market agent, the backtester and the simulator's consumers: bytes
in, records out, no I/O. The caller supplies the receive time and the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from tradestream.core.errors import BadInputError
from tradestream.core.order_book import BookStatus, DeltaOutcome, OrderBook
from tradestream.schemas.bybit import OrderbookFrame, depth_of_topic, orderbook_decoder
from tradestream.schemas.market import BookTop, RequestResync

Clock = Callable[[], int]
_INVALIDATING = frozenset({DeltaOutcome.GAP, DeltaOutcome.SEQ_REGRESSION, DeltaOutcome.CROSSED})


@dataclass(slots=True)
class BookUpdate:
    """What one frame changed: a new top of book to publish and/or a resync to request."""

    symbol: str
    outcome: DeltaOutcome
    book_top: BookTop | None = None
    resync: RequestResync | None = None


@dataclass(slots=True)
class _Tracked:
    book: OrderBook
    last_top: tuple[Any, ...] = ()
    resync_requested: bool = False


def decimal_text(value: float) -> str:
    """Write a price or size parsed from an exchange string back as a plain decimal string."""
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def decode_orderbook(raw: bytes) -> OrderbookFrame:
    """Decode one frame, turning any malformation into a dead-letterable error."""
    try:
        frame = orderbook_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a Bybit orderbook frame: {exc}") from exc
    if frame.type not in ("snapshot", "delta"):
        raise BadInputError(f"unknown orderbook frame type {frame.type!r}")
    return frame


class MarketBooks:
    """All books a market agent owns, keyed by symbol."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}

    def book(self, symbol: str) -> OrderBook | None:
        """Return the live book of ``symbol`` if one is kept."""
        tracked = self._tracked.get(symbol)
        return tracked.book if tracked is not None else None

    def symbols(self) -> list[str]:
        """Return the symbols with a book, sorted."""
        return sorted(self._tracked)

    def apply(self, raw: bytes, recv_ts_ms: int) -> BookUpdate:
        """Apply one raw order-book frame and say what to publish."""
        frame = decode_orderbook(raw)
        data = frame.data
        tracked = self._tracked.get(data.s)
        if tracked is None:
            tracked = _Tracked(OrderBook(data.s, depth_of_topic(frame.topic)))
            self._tracked[data.s] = tracked
        book = tracked.book
        if frame.type == "snapshot":
            outcome = book.on_snapshot(data.u, data.seq, frame.ts, data.b, data.a)
            tracked.resync_requested = False
        else:
            outcome = book.on_delta(data.u, data.seq, frame.ts, data.b, data.a)
        update = BookUpdate(data.s, outcome)
        update.resync = self._maybe_resync(tracked, outcome)
        update.book_top = self._maybe_top(tracked, frame, recv_ts_ms)
        return update

    def _maybe_resync(self, tracked: _Tracked, outcome: DeltaOutcome) -> RequestResync | None:
        needs = outcome in _INVALIDATING or outcome is DeltaOutcome.NOT_READY
        if not needs or tracked.resync_requested:
            return None
        tracked.resync_requested = True
        return RequestResync(
            symbol=tracked.book.symbol, reason=outcome.value, requested_ts_ms=self._clock()
        )

    def _maybe_top(
        self, tracked: _Tracked, frame: OrderbookFrame, recv_ts_ms: int
    ) -> BookTop | None:
        book = tracked.book
        if book.status is BookStatus.EMPTY:
            return None
        bid = book.bids.best() or (0.0, 0.0)
        ask = book.asks.best() or (0.0, 0.0)
        key = (book.status, bid, ask)
        if key == tracked.last_top:
            return None
        tracked.last_top = key
        return BookTop(
            symbol=book.symbol,
            status=book.status.value,
            bid_px=decimal_text(bid[0]),
            bid_sz=decimal_text(bid[1]),
            ask_px=decimal_text(ask[0]),
            ask_sz=decimal_text(ask[1]),
            u=book.last_u,
            seq=book.last_seq,
            exchange_ts_ms=frame.ts,
            cts_ms=frame.cts,
            recv_ts_ms=recv_ts_ms,
            produced_ts_ms=self._clock(),
        )

    def status_record(self, symbol: str, top_n: int = 5) -> dict[str, Any]:
        """Describe a book for the status table and web views (JSON-ready)."""
        book = self._tracked[symbol].book
        counters = book.counters
        return {
            "symbol": symbol,
            "status": book.status.value,
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
            "bids": [[decimal_text(p), decimal_text(s)] for p, s in book.bids.top(top_n)],
            "asks": [[decimal_text(p), decimal_text(s)] for p, s in book.asks.top(top_n)],
        }
