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
    depth, symbol = topic_parts(frame.topic)
    data = frame.data
    if data.s != symbol:
        raise InsaneFrameError(f"data.s {data.s!r} is not the symbol of topic {frame.topic!r}")
    _check_counter("u", data.u, 1)
    _check_counter("seq", data.seq, 0)
    _check_counter("ts", frame.ts, 0)
    _check_counter("cts", frame.cts, 0)
    if frame.type == "snapshot" and (len(data.b) > depth or len(data.a) > depth):
        raise InsaneFrameError(
            f"snapshot of {len(data.b)} bids / {len(data.a)} asks on a depth-{depth} topic"
        )
    _check_levels("b", data.b)
    _check_levels("a", data.a)
    return depth


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
