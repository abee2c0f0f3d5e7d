"""Serve Bybit's ``kline.{interval}.{symbol}`` streams and ``GET /v5/market/kline`` from trades.

The simulator is the exchange here, so its bars are built from its own trades, exactly: prices,
volume and turnover are ``Decimal`` sums of the trades' strings, independent of the pipeline's
float bar builder (``core/candles``), which is what makes comparing the two a cross-check.
Every interval of ``INTERVALS_S`` is built straight from the trades, by their exchange time ``T``,
aligned to UTC; a bar closes when a trade of a later bar arrives or when a book event's
exchange time passes its end by ``CLOSE_GRACE_MS`` (a quiet symbol). An interval without
trades has no bar; a trade older than the forming bar is late and ignored.

On the WebSocket, as Bybit does, the forming bar is pushed with ``confirm: false`` at most once
per ``PUSH_INTERVAL_MS`` of exchange time (Bybit: every 1-60 s), each bar once more with
``confirm: true`` when it closes, and a new subscriber gets the forming bar at once. Over REST
the last ``HISTORY`` closed bars and the forming one are served newest first, as
``[start, open, high, low, close, volume, turnover]`` strings; pybit's ``get_kline`` reads them
unmodified.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import orjson

from tradestream.core.candles.candle import INTERVALS_S
from tradestream.schemas.bybit import trade_decoder
from tradestream.simulator.connection import FrameKind
from tradestream.simulator.market import Feed
from tradestream.simulator.rest_handlers import Handler, Params
from tradestream.simulator.venue import PARAMS_ERROR, VenueError
from tradestream.simulator.venue_orders import Wire

PATH = "/v5/market/kline"
PUSH_INTERVAL_MS: Final = 1000
CLOSE_GRACE_MS: Final = 1000
HISTORY: Final = 1000
"""Closed bars kept per symbol and interval (Bybit's REST ``limit`` is at most 1000)."""
_FAR: Final = 2**62
_NEVER: Final = -(2**62)


def _text(value: Decimal) -> str:
    # Bybit writes plain decimals without trailing zeros ("16677", "2.081").
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(slots=True)
class ExactBar:
    """One bar of one interval, in exact decimals."""

    start_ms: int
    end_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal
    timestamp: int
    """Exchange time of the last event that changed or closed the bar."""

    def add(self, ts_ms: int, price: Decimal, size: Decimal, turnover: Decimal) -> None:
        """Add one trade of this bar."""
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size
        self.turnover += turnover
        self.timestamp = ts_ms

    def wire(self, label: str, confirm: bool) -> dict[str, object]:
        """Return the bar as one entry of a kline push's ``data``, in Bybit's field order."""
        return {
            "start": self.start_ms,
            "end": self.end_ms - 1,
            "interval": label,
            "open": _text(self.open),
            "close": _text(self.close),
            "high": _text(self.high),
            "low": _text(self.low),
            "volume": _text(self.volume),
            "turnover": _text(self.turnover),
            "confirm": confirm,
            "timestamp": self.timestamp,
        }

    def row(self) -> list[str]:
        """Return the bar as a row of ``/v5/market/kline``'s ``result.list``."""
        return [
            str(self.start_ms),
            _text(self.open),
            _text(self.high),
            _text(self.low),
            _text(self.close),
            _text(self.volume),
            _text(self.turnover),
        ]


class KlineFeed(Feed):
    """Build one symbol's bars of one interval and serve ``kline.{label}.{symbol}``."""

    __slots__ = ("closed", "floor_ms", "forming", "interval_ms", "label", "pushed_at")

    def __init__(self, symbol: str, label: str, interval_s: int) -> None:
        super().__init__(f"kline.{label}.{symbol}")
        self.label = label
        self.interval_ms = interval_s * 1000
        self.forming: ExactBar | None = None
        self.closed: deque[ExactBar] = deque(maxlen=HISTORY)
        self.floor_ms = _NEVER  # a trade before it belongs to a closed bar
        self.pushed_at = _NEVER

    @property
    def due_ms(self) -> int:
        """Return the exchange time at which the forming bar closes without another trade."""
        return _FAR if self.forming is None else self.forming.end_ms + CLOSE_GRACE_MS

    def on_trade(self, ts_ms: int, price: Decimal, size: Decimal, turnover: Decimal) -> None:
        """Add one trade, closing the forming bar first if the trade opens a later one."""
        forming = self.forming
        if forming is not None and forming.start_ms <= ts_ms < forming.end_ms:
            forming.add(ts_ms, price, size, turnover)
        elif ts_ms < self.floor_ms:
            return  # late: its bar has closed
        else:
            if forming is not None:
                self._close(ts_ms)
            start = ts_ms - ts_ms % self.interval_ms
            end = start + self.interval_ms
            self.forming = ExactBar(start, end, price, price, price, price, size, turnover, ts_ms)
            self.floor_ms = start
        if self.subscribers and ts_ms - self.pushed_at >= PUSH_INTERVAL_MS:
            self.pushed_at = ts_ms
            self.fan_out(self._frame(False, ts_ms), FrameKind.DATA)

    def on_clock(self, ts_ms: int) -> None:
        """Close the forming bar if ``ts_ms`` is past its end and the grace."""
        if self.forming is not None and ts_ms >= self.forming.end_ms + CLOSE_GRACE_MS:
            self._close(ts_ms)

    def snapshot_frame(self) -> bytes | None:
        """Encode the forming bar for a new subscriber, or None between bars."""
        if self.forming is None:
            return None
        return self._frame(False, self.forming.timestamp)

    def bars(self, start_ms: int, end_ms: int, limit: int) -> list[ExactBar]:
        """Return up to ``limit`` bars opening within [start_ms, end_ms], newest first."""
        every = [*self.closed, self.forming] if self.forming is not None else list(self.closed)
        chosen = [bar for bar in reversed(every) if start_ms <= bar.start_ms <= end_ms]
        return chosen[:limit]

    def _close(self, ts_ms: int) -> None:
        bar = self.forming
        if bar is None:
            return
        self.forming = None
        self.floor_ms = bar.end_ms
        self.closed.append(bar)
        if self.subscribers:
            self.fan_out(self._frame_of(bar, True, ts_ms), FrameKind.DATA)
        self.pushed_at = _NEVER  # the next bar goes out with its first trade

    def _frame(self, confirm: bool, ts_ms: int) -> bytes:
        if self.forming is None:
            raise AssertionError("no forming bar to encode")
        return self._frame_of(self.forming, confirm, ts_ms)

    def _frame_of(self, bar: ExactBar, confirm: bool, ts_ms: int) -> bytes:
        return orjson.dumps(
            {
                "topic": self.topic,
                "data": [bar.wire(self.label, confirm)],
                "ts": ts_ms,
                "type": "snapshot",
            }
        )


class SymbolKlines:
    """Every kline interval of one symbol, fed by its trade frames and its book events' times."""

    __slots__ = ("due_ms", "feeds")

    def __init__(self, symbol: str) -> None:
        self.feeds = {
            label: KlineFeed(symbol, label, seconds) for label, seconds in INTERVALS_S.items()
        }
        self.due_ms = _FAR

    def on_trades(self, frame: bytes) -> None:
        """Add every trade of one ``publicTrade`` frame to every interval."""
        feeds = self.feeds.values()
        for trade in trade_decoder.decode(frame).data:
            price = Decimal(trade.p)
            size = Decimal(trade.v)
            turnover = price * size
            for feed in feeds:
                feed.on_trade(trade.T, price, size, turnover)
        self._settle()

    def on_clock(self, ts_ms: int) -> None:
        """Close the bars that the exchange time ``ts_ms`` is past (quiet symbols)."""
        if ts_ms < self.due_ms:
            return
        for feed in self.feeds.values():
            feed.on_clock(ts_ms)
        self._settle()

    def _settle(self) -> None:
        self.due_ms = min(feed.due_ms for feed in self.feeds.values())


class KlineRest:
    """Answer ``GET /v5/market/kline`` from the symbols' bars."""

    def __init__(self, klines: Mapping[str, SymbolKlines]) -> None:
        self._klines = klines

    def table(self) -> dict[str, Handler]:
        """Map the kline path to its handler (merged into the REST handler table)."""
        return {PATH: self.kline}

    def kline(self, params: Params) -> Wire:
        """Return a symbol's bars of one interval, newest first (Bybit's ``result``)."""
        symbol = str(params.get("symbol") or "")
        klines = self._klines.get(symbol)
        if klines is None:
            raise VenueError(PARAMS_ERROR, "Not supported symbols")
        feed = klines.feeds.get(str(params.get("interval") or ""))
        if feed is None:
            raise VenueError(PARAMS_ERROR, "Invalid period!")
        limit = _int(params, "limit", 200)
        if not 1 <= limit <= HISTORY:
            raise VenueError(PARAMS_ERROR, f"params error: limit must be 1-{HISTORY}")
        bars = feed.bars(_int(params, "start", 0), _int(params, "end", _FAR), limit)
        category = str(params.get("category") or "linear")
        return {"symbol": symbol, "category": category, "list": [bar.row() for bar in bars]}


def _int(params: Params, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError as exc:
        raise VenueError(PARAMS_ERROR, f"params error: {name} is not an integer") from exc
