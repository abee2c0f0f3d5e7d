"""Turn pipeline records into ClickHouse rows (pure: no I/O).

Prices and sizes become ``Decimal`` straight from the exchange's strings so the stored values are
the exchange's, digit for digit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import msgspec

from tradestream.core.errors import BadInputError
from tradestream.schemas.bybit import trade_decoder
from tradestream.schemas.market import BookTop, Features, book_top_decoder, features_decoder

TRADE_COLUMNS = (
    "symbol",
    "trade_id",
    "ts",
    "ts_ms",
    "side",
    "price",
    "size",
    "seq",
    "block_trade",
    "rpi",
    "recv_ts_ms",
    "inserted_ts_ms",
)
BOOK_TOP_COLUMNS = (
    "symbol",
    "status",
    "ts",
    "exchange_ts_ms",
    "cts_ms",
    "u",
    "seq",
    "bid_px",
    "bid_sz",
    "ask_px",
    "ask_sz",
    "recv_ts_ms",
    "produced_ts_ms",
)

FEATURE_COLUMNS = (
    "symbol",
    "ts",
    "exchange_ts_ms",
    "names_id",
    "values",
    "recv_ts_ms",
    "produced_ts_ms",
)

Row = tuple[object, ...]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise BadInputError(f"not a decimal number: {text!r}") from exc


def trade_rows(raw: bytes, recv_ts_ms: int, inserted_ts_ms: int) -> list[Row]:
    """Return one row per trade of a raw ``publicTrade`` frame."""
    try:
        frame = trade_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a Bybit publicTrade frame: {exc}") from exc
    return [
        (
            t.s,
            t.i,
            _utc(t.T),
            t.T,
            t.S,
            _decimal(t.p),
            _decimal(t.v),
            t.seq,
            int(t.BT),
            int(t.RPI),
            recv_ts_ms,
            inserted_ts_ms,
        )
        for t in frame.data
    ]


def book_top_row(raw: bytes) -> Row:
    """Return the row of one ``md.book.top`` record."""
    try:
        top: BookTop = book_top_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a BookTop record: {exc}") from exc
    return (
        top.symbol,
        top.status,
        _utc(top.exchange_ts_ms),
        top.exchange_ts_ms,
        top.cts_ms,
        top.u,
        top.seq,
        _decimal(top.bid_px),
        _decimal(top.bid_sz),
        _decimal(top.ask_px),
        _decimal(top.ask_sz),
        top.recv_ts_ms,
        top.produced_ts_ms,
    )


def features_row(raw: bytes) -> Row:
    """Return the row of one ``md.features`` record."""
    try:
        record: Features = features_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a Features record: {exc}") from exc
    return (
        record.symbol,
        _utc(record.exchange_ts_ms),
        record.exchange_ts_ms,
        record.names_id,
        record.values,
        record.recv_ts_ms,
        record.produced_ts_ms,
    )
