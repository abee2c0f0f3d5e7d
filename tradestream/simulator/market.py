"""Hold the server's state for one symbol: its book, its topics and their subscribers.

Every topic the simulator serves is a ``Feed`` with a subscriber set. Book topics
(``orderbook.{depth}.{symbol}``) are ``BookStream``s that own their ``u`` counter: the server,
not the source, numbers the updates, which is what lets it loop a recording seamlessly, skip or
restart ``u`` on request, and derive shallower depths with their own contiguous ``u``. A derived
stream keeps a ``DepthView`` only while somebody subscribes to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradestream.simulator.book import Book, DepthView, Level
from tradestream.simulator.connection import Connection, FrameKind
from tradestream.simulator.frames import book_frame, ticker_frame

SERVED_DEPTHS = (1, 50, 200)
"""Linear orderbook depths the simulator can serve, when the source is at least that deep."""


class Feed:
    """Hold one topic and the connections subscribed to it."""

    __slots__ = ("subscribers", "topic")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.subscribers: set[Connection] = set()

    def fan_out(self, frame: bytes, kind: FrameKind) -> None:
        """Queue the same frame on every subscriber."""
        topic = self.topic
        for conn in self.subscribers:
            conn.push(topic, frame, kind)


class BookStream(Feed):
    """Serve one orderbook depth of one symbol with its own update id."""

    __slots__ = ("depth", "native", "pushed_at", "u", "view")

    def __init__(self, symbol: str, depth: int, *, native: bool) -> None:
        super().__init__(f"orderbook.{depth}.{symbol}")
        self.depth = depth
        self.native = native
        self.u = 0
        self.view: DepthView | None = None
        self.pushed_at = 0.0
        """Monotonic time of the last frame fanned out (depth 1 re-sends a quiet top)."""


class TickerFeed(Feed):
    """Serve ``tickers.{symbol}`` and keep the merged ticker for late subscribers."""

    __slots__ = ("cs", "data", "ts")

    def __init__(self, symbol: str) -> None:
        super().__init__(f"tickers.{symbol}")
        self.data: dict[str, str] = {}
        self.cs = 0
        self.ts = 0

    def snapshot_frame(self) -> bytes | None:
        """Encode the merged ticker as a snapshot, or None before the first one arrived."""
        if not self.data:
            return None
        return ticker_frame(self.topic, "snapshot", self.data, self.cs, self.ts)


class Market:
    """Hold one symbol's book, its stamps and every feed for it."""

    __slots__ = (
        "book",
        "cts",
        "derived",
        "native",
        "ready",
        "seq",
        "streams",
        "symbol",
        "ticker",
        "trades",
        "ts",
    )

    def __init__(self, symbol: str, native_depth: int) -> None:
        self.symbol = symbol
        self.book = Book()
        self.ready = False
        self.seq = 0
        self.ts = 0
        self.cts = 0
        depths = [depth for depth in SERVED_DEPTHS if depth < native_depth] + [native_depth]
        self.streams = {
            depth: BookStream(symbol, depth, native=depth == native_depth) for depth in depths
        }
        self.native = self.streams[native_depth]
        self.derived: list[BookStream] = []
        """Derived streams that currently track a view (those with subscribers)."""
        self.trades = Feed(f"publicTrade.{symbol}")
        self.ticker = TickerFeed(symbol)

    def feeds(self) -> Iterable[Feed]:
        """List every topic of this symbol."""
        yield from self.streams.values()
        yield self.trades
        yield self.ticker

    def stamp(self, seq: int, ts: int, cts: int) -> None:
        """Remember the latest cross sequence and times, for snapshots built later."""
        self.seq = seq
        self.ts = ts
        self.cts = cts

    def snapshot_frame(self, stream: BookStream) -> bytes:
        """Encode the stream's current view of the book as a snapshot."""
        levels = (self.book.bids.top(stream.depth), self.book.asks.top(stream.depth))
        return book_frame(
            stream.topic, "snapshot", self.symbol, levels, (stream.u, self.seq, self.ts, self.cts)
        )

    def delta_frame(self, stream: BookStream, bids: list[Level], asks: list[Level]) -> bytes:
        """Encode changes for a stream; depth 1 is snapshot-only on Bybit linear."""
        if stream.depth == 1:
            return self.snapshot_frame(stream)
        stamp = (stream.u, self.seq, self.ts, self.cts)
        return book_frame(stream.topic, "delta", self.symbol, (bids, asks), stamp)

    def track(self, stream: BookStream) -> None:
        """Start keeping a derived stream's view, now that somebody subscribes to it."""
        if stream.native or stream.view is not None:
            return
        stream.view = DepthView(stream.depth)
        stream.view.reset(self.book)
        self.derived.append(stream)

    def untrack(self, stream: BookStream) -> None:
        """Stop keeping a derived stream's view once nobody subscribes to it."""
        if stream.view is None or stream.subscribers:
            return
        stream.view = None
        self.derived.remove(stream)
