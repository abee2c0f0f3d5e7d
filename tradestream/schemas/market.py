"""Market-data records the pipeline produces (``md.book.top``, ``md.candles``) and keeps.

These are msgspec structs rather than pydantic models because they are built and encoded once per
market-data event on the hot path; msgspec encodes them to JSON in C.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class BookTop(msgspec.Struct, frozen=True, kw_only=True):
    """Best bid and ask of one symbol after a book change, with the book's health and times.

    Prices and sizes are the exchange's decimal strings (without trailing zeros), so consumers
    can parse them to ``Decimal`` exactly. ``status`` is ``valid`` only while the book is
    continuous; readers that trade must ignore anything else.
    """

    symbol: str
    status: str
    bid_px: str
    bid_sz: str
    ask_px: str
    ask_sz: str
    u: int
    seq: int
    exchange_ts_ms: int
    cts_ms: int
    recv_ts_ms: int
    produced_ts_ms: int


class RequestResync(msgspec.Struct, frozen=True, kw_only=True):
    """Ask ingest to resubscribe one symbol so a fresh snapshot repairs its book."""

    kind: str = "request_resync"
    symbol: str
    reason: str
    requested_ts_ms: int


class Features(msgspec.Struct, frozen=True, kw_only=True, array_like=False):
    """One symbol's feature vector after a book or trade event.

    ``values`` follow ``names_id``'s column order: the names are served by the worker at
    ``/features/names/`` and listed in ``docs/features.md``; ``names_id`` changes whenever the
    feature configuration does, so a consumer can detect a schema change.
    """

    symbol: str
    book_status: str
    names_id: str
    values: list[float]
    exchange_ts_ms: int
    recv_ts_ms: int
    produced_ts_ms: int


class CandleRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One closed OHLCV bar of one symbol on ``md.candles``.

    ``source`` says where it comes from: ``trades`` (built by the market engine from the
    symbol's trades, any configured interval, seconds included) or ``exchange`` (Bybit's own
    ``kline`` bar, published once confirmed). ``interval`` is Bybit's label ("1" = 1 minute,
    "60", "D"), or ``"<n>s"`` for a sub-minute bar; ``open_ts_ms`` is the bar's open (UTC
    aligned) and ``close_ts_ms`` the first millisecond after it. Prices, volume (base coin) and
    turnover (quote coin) are decimal strings at the exchange's precision (a trade-built bar's
    sums are written back as the exact decimal sum, ``core/candles/records.py``). ``trades`` is
    0 when the exchange does not say. ``exchange_ts_ms`` is the exchange time at which the bar
    was known closed (the kline's ``timestamp``, or the trade or book frame that closed it).
    """

    symbol: str
    interval: str
    interval_s: int
    source: Literal["trades", "exchange"]
    open_ts_ms: int
    close_ts_ms: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    turnover: str
    trades: int
    exchange_ts_ms: int
    produced_ts_ms: int


book_top_encoder = msgspec.json.Encoder()
book_top_decoder = msgspec.json.Decoder(BookTop)
features_decoder = msgspec.json.Decoder(Features)
candle_decoder = msgspec.json.Decoder(CandleRecord)
