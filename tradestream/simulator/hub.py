"""Apply source updates to the server's markets and fan the frames out to subscribers.

``MarketHub`` is the one place where market state changes. It is the sink every source writes
to, the registry of connections and subscriptions the WebSocket handler talks to, and the target
of the book-level faults (fresh snapshot, ``u``=1 restart). Frames are encoded at most once per
update and only when somebody subscribes to the topic, except trade frames: every trade also
goes into the symbol's kline bars (``klines``), which REST serves whether or not anybody
subscribes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from tradestream.core.candles.candle import INTERVALS_S
from tradestream.simulator.book import Level
from tradestream.simulator.connection import Connection, FrameKind
from tradestream.simulator.events import BookEvent, TickerEvent, TradeEvent
from tradestream.simulator.faults import FaultSpec, Rule
from tradestream.simulator.klines import KlineFeed, SymbolKlines
from tradestream.simulator.market import BookStream, Feed, Market

CLOSED_KEPT = 1000
"""Closed connections whose sent logs stay visible to the admin API."""


class MarketHub:
    """Own every market, connection and subscription of one simulator."""

    def __init__(
        self,
        symbols: Sequence[str],
        native_depth: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.native_depth = native_depth
        self._clock = clock
        self.markets = {symbol: Market(symbol, native_depth) for symbol in symbols}
        self.klines = {symbol: SymbolKlines(symbol) for symbol in symbols}
        self.connections: dict[str, Connection] = {}
        self.closed: deque[Connection] = deque(maxlen=CLOSED_KEPT)
        self.standing: list[FaultSpec] = []
        """Persistent faults without a conn_id: armed on every connection that opens."""
        self.produced = {"book": 0, "trade": 0, "ticker": 0}

    # --- the source side -------------------------------------------------------------------

    def on_book(self, event: BookEvent) -> None:
        """Apply a book update to the server's book and send it to each depth's subscribers."""
        self.produced["book"] += 1
        market = self.markets[event.symbol]
        self.klines[event.symbol].on_clock(event.ts)
        if event.snapshot:
            self._on_book_snapshot(market, event)
        elif market.ready:
            self._on_book_delta(market, event)

    def on_trade(self, event: TradeEvent) -> None:
        """Send a trade frame to its subscribers and add its trades to the symbol's bars."""
        self.produced["trade"] += 1
        feed = self.markets[event.symbol].trades
        frame = event.encode()
        if feed.subscribers:
            feed.fan_out(frame, FrameKind.DATA)
        self.klines[event.symbol].on_trades(frame)

    def on_ticker(self, event: TickerEvent) -> None:
        """Merge a ticker update into the server's ticker and send it to its subscribers."""
        self.produced["ticker"] += 1
        feed = self.markets[event.symbol].ticker
        if event.snapshot:
            feed.data = dict(event.data)
        else:
            feed.data.update(event.data)
        feed.cs = event.cs
        feed.ts = event.ts
        if feed.subscribers:
            feed.fan_out(event.encode(), FrameKind.DATA)

    async def flow(self) -> None:
        """Wait while any connection's backlog is at its limit."""
        for conn in list(self.connections.values()):
            await conn.room()

    def _on_book_delta(self, market: Market, event: BookEvent) -> None:
        market.book.apply(event.bids, event.asks)
        market.stamp(event.seq, event.ts, event.cts)
        native = market.native
        native.u += 1
        if native.subscribers:
            if event.recorded is not None:
                template, shift = event.recorded
                frame = template.render(shift, native.u)
            else:
                frame = market.delta_frame(native, list(event.bids), list(event.asks))
            native.fan_out(frame, FrameKind.DELTA)
        for stream in market.derived:
            self._derive(market, stream, event.bids, event.asks)

    def _on_book_snapshot(self, market: Market, event: BookEvent) -> None:
        if market.ready:
            # A later source snapshot (the next replay loop) reaches clients as the delta to it.
            bids = market.book.bids.changes_to(event.bids)
            asks = market.book.asks.changes_to(event.asks)
            delta = BookEvent(event.symbol, False, bids, asks, 0, event.seq, event.ts, event.cts)
            self._on_book_delta(market, delta)
            return
        market.book.replace(event.bids, event.asks)
        market.stamp(event.seq, event.ts, event.cts)
        market.ready = True
        for stream in market.streams.values():
            stream.u = event.u
            if stream.view is not None:
                stream.view.reset(market.book)
            if stream.subscribers:
                stream.fan_out(market.snapshot_frame(stream), FrameKind.DATA)

    def _derive(
        self, market: Market, stream: BookStream, bids: Sequence[Level], asks: Sequence[Level]
    ) -> None:
        if stream.view is None:
            return
        changes = stream.view.update(market.book, bids, asks)
        if changes is None:
            return
        stream.u += 1
        if stream.subscribers:
            kind = FrameKind.DATA if stream.depth == 1 else FrameKind.DELTA
            stream.fan_out(market.delta_frame(stream, *changes), kind)
            stream.pushed_at = self._clock()

    # --- the client side -------------------------------------------------------------------

    def open(self, conn: Connection) -> None:
        """Register a new connection and arm the standing faults on it."""
        self.connections[conn.conn_id] = conn
        for spec in self.standing:
            conn.arm(Rule.from_spec(spec))

    def close(self, conn: Connection) -> None:
        """Forget a connection's subscriptions and keep its sent log for the admin API."""
        for topic in list(conn.topics):
            feed = self.resolve(topic)
            if isinstance(feed, Feed):
                self.unsubscribe(conn, feed)
        self.connections.pop(conn.conn_id, None)
        conn.finish()
        self.closed.append(conn)

    def resolve(self, topic: str) -> Feed | str:
        """Find the feed for a topic, or return Bybit's refusal message for it."""
        family, _, symbol = topic.rpartition(".")
        market = self.markets.get(symbol)
        if family.startswith("kline.") and family.removeprefix("kline.") in INTERVALS_S:
            return self._kline_feed(topic)
        if family in {"publicTrade", "tickers"}:
            if market is None:
                return f"Invalid symbol :[{topic}]"
            return market.trades if family == "publicTrade" else market.ticker
        depth = family.removeprefix("orderbook.")
        if family.startswith("orderbook.") and depth.isdigit():
            if market is None:
                return f"Invalid symbol :[{topic}]"
            stream = market.streams.get(int(depth))
            if stream is not None:
                return stream
        return f"error:handler not found,topic:{topic}"

    def _kline_feed(self, topic: str) -> Feed | str:
        _, label, symbol = topic.split(".", 2)
        klines = self.klines.get(symbol)
        return f"Invalid symbol :[{topic}]" if klines is None else klines.feeds[label]

    def subscribe(self, conn: Connection, feed: Feed) -> None:
        """Add a subscriber and send it the current snapshot, as Bybit does after the ack."""
        feed.subscribers.add(conn)
        conn.topics.add(feed.topic)
        symbol = feed.topic.rpartition(".")[2]
        market = self.markets[symbol]
        if isinstance(feed, BookStream):
            market.track(feed)
            if market.ready:
                conn.push(feed.topic, market.snapshot_frame(feed), FrameKind.DATA)
        else:
            frame = None
            if isinstance(feed, KlineFeed):
                frame = feed.snapshot_frame()
            elif feed is market.ticker:
                frame = market.ticker.snapshot_frame()
            if frame is not None:
                conn.push(feed.topic, frame, FrameKind.DATA)

    def unsubscribe(self, conn: Connection, feed: Feed) -> None:
        """Remove a subscriber."""
        feed.subscribers.discard(conn)
        conn.topics.discard(feed.topic)
        if isinstance(feed, BookStream):
            self.markets[feed.topic.rpartition(".")[2]].untrack(feed)

    # --- faults and inspection -------------------------------------------------------------

    def select(self, symbol: str | None) -> list[Market]:
        """Return the named market, or all of them."""
        if symbol is None:
            return list(self.markets.values())
        return [self.markets[symbol]] if symbol in self.markets else []

    def resend_snapshots(self, symbol: str | None, conns: Iterable[Connection] | None) -> int:
        """Send a fresh snapshot (same ``u`` sequence) of each subscribed book; count them."""
        targets = None if conns is None else set(conns)
        sent = 0
        for market in self.select(symbol):
            for stream in market.streams.values():
                receivers = stream.subscribers if targets is None else stream.subscribers & targets
                if market.ready and receivers:
                    frame = market.snapshot_frame(stream)
                    for conn in receivers:
                        conn.push(stream.topic, frame, FrameKind.DATA)
                        sent += 1
        return sent

    def restart(self, symbol: str | None) -> int:
        """Restart ``u`` at 1 for every depth, sending each subscriber a ``u``=1 snapshot."""
        sent = 0
        for market in self.select(symbol):
            if not market.ready:
                continue
            for stream in market.streams.values():
                stream.u = 1
                if stream.view is not None:
                    stream.view.reset(market.book)
                if stream.subscribers:
                    stream.fan_out(market.snapshot_frame(stream), FrameKind.DATA)
                    sent += len(stream.subscribers)
        return sent

    def refresh_quiet_tops(self, quiet_s: float) -> int:
        """Re-send each depth-1 top unchanged for ``quiet_s`` as a snapshot with the same ``u``.

        Bybit does this for linear level-1 data after 3 s without a change, so a consumer can
        tell a quiet book from a dead stream.
        """
        now = self._clock()
        sent = 0
        for market in self.markets.values():
            stream = market.streams.get(1)
            if stream is None or not stream.subscribers or not market.ready:
                continue
            if now - stream.pushed_at >= quiet_s:
                stream.fan_out(market.snapshot_frame(stream), FrameKind.DATA)
                stream.pushed_at = now
                sent += 1
        return sent

    def sample_frame(self, symbol: str) -> bytes | None:
        """Return a real frame for the symbol (its deepest snapshot), if it has a book yet."""
        market = self.markets.get(symbol)
        if market is None or not market.ready:
            return None
        return market.snapshot_frame(market.native)

    def book_view(self, symbol: str, depth: int) -> dict[str, object] | None:
        """Describe the server's book for a symbol, capped to ``depth``, as wire strings."""
        market = self.markets.get(symbol)
        if market is None:
            return None
        stream = market.streams.get(depth)
        return {
            "symbol": symbol,
            "depth": depth,
            "ready": market.ready,
            "u": stream.u if stream is not None else None,
            "seq": market.seq,
            "ts": market.ts,
            "bids": [[price, size] for _, price, size in market.book.bids.top(depth)],
            "asks": [[price, size] for _, price, size in market.book.asks.top(depth)],
        }
