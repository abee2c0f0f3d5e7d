"""Build OHLCV bars from trades, incrementally, by the trades' exchange timestamps.

One ``BarBuilder`` per symbol and interval; ``SymbolBars`` holds a symbol's builders for every
configured interval. The rules, the same live, in the backtest and in the tests:

- a trade belongs to the bar ``[open, open + interval)`` holding its exchange time; bars are
  aligned to the Unix epoch, i.e. to UTC boundaries (a 5 s bar opens at :00, :05, ...; a
  1-minute bar on the minute), so bars built anywhere from the same trades are the same bars;
- a bar closes when a trade of a later bar arrives, or when the clock passes its end by
  ``close_grace_ms`` (``on_clock``; the market engine's clock is the exchange time of the
  symbol's order-book frames), so a quiet symbol's last bar closes without waiting for a trade.
  The grace lets a trade stamped before the end arrive after a book frame stamped after it:
  trades and books travel on different topics and interleave a little out of order;
- an interval without trades makes no bar (no flat bar repeating the last close): a reader that
  wants a gapless series fills the gaps itself, as Bybit's own klines would not;
- a trade older than the forming bar (its bar has closed) is late: counted, never added, since a
  bar once published is final;
- with ``complete_only``, a bar is published only if the builder heard from the symbol (a trade
  or a clock tick) before the bar opened: after a start, restart or rebalance the first bar may
  lack the trades before it, and a short bar would disagree with the exchange's kline.

Late trades and bars closed by the clock are counted per builder and, if the builders of one
interval share a ``BarCounts``, per interval across symbols: counts that outlive a symbol's
builders (a rebalance drops them) and that a metrics exporter reads without visiting every
symbol. Both are rare events; counting costs an integer increment when one happens.
"""

from __future__ import annotations

from typing import Final

from tradestream.core.candles.candle import Candle

_FAR: Final = 2**62  # after any real epoch-millisecond time: "no bar forming"
_UNSET: Final = -(2**62)


class BarCounts:
    """Count what the bar builders of one interval saw go wrong, across every symbol."""

    __slots__ = ("closed_by_clock", "late")

    def __init__(self) -> None:
        self.late = 0
        """Trades that arrived after their bar had closed (not added to any bar)."""
        self.closed_by_clock = 0
        """Bars closed by the clock passing their end and grace, not by a later trade."""


class BarBuilder:
    """Build one symbol's bars of one interval from its trades, as they come."""

    __slots__ = (
        "_close",
        "_complete_only",
        "_counts",
        "_end_ms",
        "_floor_ms",
        "_grace_ms",
        "_high",
        "_interval_ms",
        "_low",
        "_open",
        "_open_ms",
        "_since_ms",
        "_trades",
        "_turnover",
        "_volume",
        "closed_by_clock",
        "interval_s",
        "late",
        "partial",
        "symbol",
    )

    def __init__(
        self,
        symbol: str,
        interval_s: int,
        close_grace_ms: int = 0,
        complete_only: bool = False,
        counts: BarCounts | None = None,
    ) -> None:
        """Build ``interval_s`` bars; also count late trades and clock closes into ``counts``."""
        self.symbol = symbol
        self.interval_s = interval_s
        self._interval_ms = interval_s * 1000
        self._grace_ms = close_grace_ms
        self._complete_only = complete_only
        self._since_ms = _UNSET  # bars opening at or before it may have missed trades
        self._floor_ms = _UNSET  # a trade before it belongs to a bar already closed
        self._open_ms = _FAR
        self._end_ms = _FAR
        self._open = self._high = self._low = self._close = 0.0
        self._volume = self._turnover = 0.0
        self._trades = 0
        self.late = 0
        """Trades that arrived after their bar had closed (not added to any bar)."""
        self.partial = 0
        """Bars withheld because the builder started after they opened (``complete_only``)."""
        self.closed_by_clock = 0
        """Bars closed by ``on_clock`` (published or withheld), not by a later trade."""
        self._counts = counts if counts is not None else BarCounts()

    @property
    def due_ms(self) -> int:
        """Return the clock time at which the forming bar closes without another trade."""
        return self._end_ms + self._grace_ms if self._trades else _FAR

    def on_trade(self, ts_ms: int, price: float, size: float) -> Candle | None:
        """Add one trade; return the bar it closed, if it is the first trade of a later bar."""
        if ts_ms < self._open_ms or ts_ms >= self._end_ms:
            return self._start_bar(ts_ms, price, size)
        self._high = max(self._high, price)
        self._low = min(self._low, price)
        self._close = price
        self._volume += size
        self._turnover += price * size
        self._trades += 1
        return None

    def on_clock(self, ts_ms: int) -> Candle | None:
        """Close the forming bar if ``ts_ms`` is past its end and grace; return it if so."""
        self._hear(ts_ms)
        if self._trades and ts_ms >= self._end_ms + self._grace_ms:
            self.closed_by_clock += 1
            self._counts.closed_by_clock += 1
            return self._close_bar()
        return None

    def forming(self) -> Candle | None:
        """Return the bar being built, as it stands, or None between bars."""
        return self._candle() if self._trades else None

    def _start_bar(self, ts_ms: int, price: float, size: float) -> Candle | None:
        # Not in the forming bar: the first trade, a late one, or one that opens a later bar.
        self._hear(ts_ms)
        if ts_ms < self._floor_ms:
            self.late += 1
            self._counts.late += 1
            return None
        closed = self._close_bar() if self._trades else None
        open_ms = ts_ms - ts_ms % self._interval_ms
        self._open_ms = self._floor_ms = open_ms
        self._end_ms = open_ms + self._interval_ms
        self._open = self._high = self._low = self._close = price
        self._volume = size
        self._turnover = price * size
        self._trades = 1
        return closed

    def _hear(self, ts_ms: int) -> None:
        if self._since_ms == _UNSET:
            self._since_ms = ts_ms if self._complete_only else _UNSET + 1

    def _close_bar(self) -> Candle | None:
        candle = self._candle()
        self._floor_ms = self._end_ms
        self._open_ms = self._end_ms = _FAR
        self._trades = 0
        if candle.open_ts_ms <= self._since_ms:
            self.partial += 1
            return None
        return candle

    def _candle(self) -> Candle:
        return Candle(
            self.symbol,
            self.interval_s,
            self._open_ms,
            self._open,
            self._high,
            self._low,
            self._close,
            self._volume,
            self._turnover,
            self._trades,
        )


class SymbolBars:
    """One symbol's bar builders, one per interval, and the bars they closed until taken.

    ``due_ms`` is the earliest clock time at which a forming bar closes without a trade, so a
    caller checks one integer per book frame; it is brought up to date by ``on_clock`` and
    ``settle`` (call it after a frame's trades), not by every trade. ``counts`` maps an interval
    to the ``BarCounts`` its builder shares with other symbols' builders (e.g. every symbol of one
    market engine); an interval missing from it gets counts of its own.
    """

    __slots__ = ("builders", "closed", "due_ms")

    def __init__(
        self,
        symbol: str,
        intervals_s: tuple[int, ...],
        close_grace_ms: int = 0,
        complete_only: bool = False,
        counts: dict[int, BarCounts] | None = None,
    ) -> None:
        shared = counts if counts is not None else {}
        self.builders = [
            BarBuilder(symbol, interval_s, close_grace_ms, complete_only, shared.get(interval_s))
            for interval_s in intervals_s
        ]
        self.closed: list[Candle] = []
        self.due_ms = _UNSET  # the first clock tick is heard (``complete_only``)

    def on_trade(self, ts_ms: int, price: float, size: float) -> None:
        """Add one trade to every interval's bar."""
        for builder in self.builders:
            candle = builder.on_trade(ts_ms, price, size)
            if candle is not None:
                self.closed.append(candle)

    def on_clock(self, ts_ms: int) -> None:
        """Close every bar that ``ts_ms`` is past (with its grace)."""
        for builder in self.builders:
            candle = builder.on_clock(ts_ms)
            if candle is not None:
                self.closed.append(candle)
        self.settle()

    def settle(self) -> None:
        """Recompute ``due_ms`` after bars opened or closed."""
        due = _FAR
        for builder in self.builders:
            due = min(due, builder.due_ms)
        self.due_ms = due

    def take(self) -> list[Candle]:
        """Return the bars closed since the last call, in the order they closed, and forget them."""
        closed = self.closed
        self.closed = []
        return closed
