"""Refuse frames that decode but make no sense, before they touch a book or a feature.

The decoder checks structure (field names and types); these checks say whether the values can be
true of a market: prices finite and positive, sizes finite and not negative (0 deletes a level),
sequence numbers and times in the exchange's 64-bit range, the symbol and depth of the data those
of the topic it came on, a snapshot no deeper than its subscription. One insane level is enough
to refuse the whole frame: a book must never hold half a frame. ``NaN`` fails every comparison,
so each test is written as the condition that holds for a sane value, and negated.

Hot path: a frame's levels are checked in one pass of float comparisons (compiled with mypyc,
``setup.py``); a sane frame allocates nothing here.
"""

from __future__ import annotations

from typing import Final

from tradestream.core.errors import InsaneFrameError
from tradestream.schemas.bybit import OrderbookFrame, PublicTrade, PublicTradeFrame

__all__ = ["BOOK_DEPTHS", "check_orderbook", "check_trades", "topic_parts"]

BOOK_DEPTHS: Final = frozenset({1, 50, 200, 500, 1000})
"""The depths of Bybit v5's ``orderbook.{depth}.{symbol}`` streams (linear)."""
_INF: Final = float("inf")
_MAX_INT: Final = (1 << 63) - 1
_TAKER_SIDES: Final = frozenset({"Buy", "Sell"})


def topic_parts(topic: str) -> tuple[int, str]:
    """Return the depth and symbol of ``orderbook.{depth}.{symbol}``, refusing any other shape."""
    parts = topic.split(".")
    if len(parts) != 3 or parts[0] != "orderbook" or not parts[1].isdigit():
        raise InsaneFrameError(f"topic {topic!r} is not orderbook.{{depth}}.{{symbol}}")
    depth = int(parts[1])
    if depth not in BOOK_DEPTHS:
        raise InsaneFrameError(f"topic {topic!r}: no Bybit book has depth {depth}")
    return depth, parts[2]


def check_orderbook(frame: OrderbookFrame) -> int:
    """Raise ``InsaneFrameError`` unless every value of ``frame`` is sane; return its depth."""
    topic = frame.topic
    parsed = _topics.get(topic)
    if parsed is None:
        parsed = _remember(topic)
    depth, symbol = parsed
    data = frame.data
    u, seq, ts, cts = data.u, data.seq, frame.ts, frame.cts  # each read is an attribute lookup
    # Bit tests, not comparisons with 2**63: that bound is no small int for mypyc.
    if data.s != symbol or u < 1 or seq < 0 or ts < 0 or cts < 0 or (u | seq | ts | cts) >> 63:
        raise InsaneFrameError(_header_reason(frame, symbol))
    bids, asks = data.b, data.a
    if (len(bids) > depth or len(asks) > depth) and frame.type == "snapshot":
        raise InsaneFrameError(
            f"snapshot of {len(bids)} bids / {len(asks)} asks on a depth-{depth} topic"
        )
    _check_levels("b", bids)
    _check_levels("a", asks)
    return depth


_topics: dict[str, tuple[int, str]] = {}
_MAX_TOPICS: Final = 10_000


def _remember(topic: str) -> tuple[int, str]:
    # A worker sees one topic per symbol; bound the cache against a stream of invented ones.
    parsed = topic_parts(topic)
    if len(_topics) >= _MAX_TOPICS:
        _topics.clear()
    _topics[topic] = parsed
    return parsed


def _header_reason(frame: OrderbookFrame, symbol: str) -> str:
    data = frame.data
    if data.s != symbol:
        return f"data.s {data.s!r} is not the symbol of topic {frame.topic!r}"
    for field, value, low in (
        ("u", data.u, 1),
        ("seq", data.seq, 0),
        ("ts", frame.ts, 0),
        ("cts", frame.cts, 0),
    ):
        if not (low <= value <= _MAX_INT):
            return f"{field} {value} is outside [{low}, 2^63)"
    return "a header field is out of range"  # unreachable while both tests agree


def check_trades(frame: PublicTradeFrame) -> None:
    """Raise ``InsaneFrameError`` unless every trade of ``frame`` is sane and of its topic."""
    parts = frame.topic.split(".")
    if len(parts) != 2 or parts[0] != "publicTrade":
        raise InsaneFrameError(f"topic {frame.topic!r} is not publicTrade.{{symbol}}")
    symbol = parts[1]
    _check_counter("ts", frame.ts, 0)
    for i, trade in enumerate(frame.data):
        _check_trade(i, trade, symbol)


def _check_trade(i: int, trade: PublicTrade, symbol: str) -> None:
    if trade.s != symbol:
        raise InsaneFrameError(f"data[{i}].s {trade.s!r} is not the topic's symbol {symbol!r}")
    if trade.S not in _TAKER_SIDES:
        raise InsaneFrameError(f"data[{i}].S {trade.S!r} is neither Buy nor Sell")
    _check_counter(f"data[{i}].T", trade.T, 0)
    price = _number(f"data[{i}].p", trade.p)
    size = _number(f"data[{i}].v", trade.v)
    if not (0.0 < price < _INF):
        raise InsaneFrameError(f"data[{i}].p {trade.p!r} is not a finite price above 0")
    if not (0.0 < size < _INF):
        raise InsaneFrameError(f"data[{i}].v {trade.v!r} is not a finite size above 0")


def _number(field: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InsaneFrameError(f"{field} {text!r} is not a number") from None


def _check_counter(field: str, value: int, low: int) -> None:
    if not (low <= value <= _MAX_INT):
        raise InsaneFrameError(f"{field} {value} is outside [{low}, 2^63)")


def _check_levels(side: str, levels: list[tuple[float, float]]) -> None:
    for price, size in levels:
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            raise InsaneFrameError(_level_reason(side, levels))


def _level_reason(side: str, levels: list[tuple[float, float]]) -> str:
    # The slow path names the first insane level.
    for i, (price, size) in enumerate(levels):
        if not (0.0 < price < _INF):
            return f"{side}[{i}] price {price!r} is not a finite price above 0"
        if not (0.0 <= size < _INF):
            return f"{side}[{i}] size {size!r} is not a finite size of 0 or more"
    return f"{side}: no insane level"  # unreachable while the two predicates agree
