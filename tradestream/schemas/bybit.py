"""Bybit v5 public WebSocket frames, decoded in C by msgspec.

Only the fields the pipeline reads are declared; unknown fields are ignored so Bybit may add
fields without breaking us. Trade prices and sizes stay strings here: exact, and parsed once by
the consumer that needs numbers. Order-book levels are parsed to floats by the decoder itself
(msgspec's lax mode converts the quoted numbers in C): parsing ~20 level strings with
``float()`` cost more than decoding the whole frame. msgspec's parser is correctly rounded, so a
level string gives the same float as ``float(text)`` (the book's exact keys; checked in
``tests/unit/schemas/test_bybit_levels.py``). Lax mode applies to the whole order-book frame:
a quoted integer ``u`` would also be accepted. Frames are not tracked by the garbage collector
(``gc=False``): they hold only strings, numbers and lists of number tuples, so they can never be
part of a reference cycle, and ~10,000 a second would otherwise keep triggering collections.
"""

from __future__ import annotations

import msgspec

PriceLevel = tuple[str, str]
NumericLevel = tuple[float, float]


class OrderbookData(msgspec.Struct, frozen=True, gc=False):
    """Levels and sequence numbers of one order-book message."""

    s: str
    b: list[NumericLevel]
    a: list[NumericLevel]
    u: int
    seq: int


class OrderbookFrame(msgspec.Struct, frozen=True, gc=False):
    """``orderbook.{depth}.{symbol}``: a snapshot or a delta."""

    topic: str
    type: str
    ts: int
    data: OrderbookData
    cts: int = 0


class PublicTrade(msgspec.Struct, frozen=True):
    """One trade of a ``publicTrade`` message; ``S`` is the taker side."""

    T: int
    s: str
    S: str
    v: str
    p: str
    i: str
    seq: int = 0
    BT: bool = False
    RPI: bool = False


class PublicTradeFrame(msgspec.Struct, frozen=True):
    """``publicTrade.{symbol}``: one or more trades."""

    topic: str
    ts: int
    data: list[PublicTrade]
    type: str = "snapshot"


class Kline(msgspec.Struct, frozen=True):
    """One bar of a ``kline.{interval}.{symbol}`` push; ``confirm`` is true once it has closed.

    ``start`` is the bar's open and ``end`` its last millisecond; prices, volume (base coin) and
    turnover (quote coin) are the exchange's decimal strings.
    """

    start: int
    end: int
    interval: str
    open: str
    close: str
    high: str
    low: str
    volume: str
    turnover: str
    confirm: bool
    timestamp: int


class KlineFrame(msgspec.Struct, frozen=True):
    """``kline.{interval}.{symbol}``: the forming bar, or the closed one with ``confirm``."""

    topic: str
    data: list[Kline]
    ts: int
    type: str = "snapshot"


class TopicProbe(msgspec.Struct):
    """Read only the topic of a frame, to route it without decoding the rest."""

    topic: str


orderbook_decoder = msgspec.json.Decoder(OrderbookFrame, strict=False)
trade_decoder = msgspec.json.Decoder(PublicTradeFrame)
kline_decoder = msgspec.json.Decoder(KlineFrame)
topic_decoder = msgspec.json.Decoder(TopicProbe)


def symbol_of_topic(topic: str) -> str:
    """Return the symbol of a public topic such as ``orderbook.200.BTCUSDT``."""
    return topic.rsplit(".", 1)[-1]


def depth_of_topic(topic: str) -> int:
    """Return the depth of an ``orderbook.{depth}.{symbol}`` topic."""
    return int(topic.split(".", 2)[1])
