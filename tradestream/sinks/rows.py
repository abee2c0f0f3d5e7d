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
from tradestream.schemas.market import (
    BookTop,
    CandleRecord,
    Features,
    book_top_decoder,
    candle_decoder,
    features_decoder,
)
from tradestream.schemas.trading import Signal

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

CANDLE_COLUMNS = (
    "symbol",
    "interval_s",
    "source",
    "ts",
    "open_ts_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "turnover",
    "trades",
    "exchange_ts_ms",
    "produced_ts_ms",
)

SIGNAL_COLUMNS = (
    "signal_id",
    "strategy",
    "symbol",
    "side",
    "strength",
    "entry_price",
    "stop_loss",
    "take_profit",
    "reason",
    "indicators.name",
    "indicators.value",
    "ts",
    "created_ts_ms",
    "inserted_ts_ms",
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


def candle_row(raw: bytes) -> Row:
    """Return the row of one ``md.candles`` record."""
    try:
        bar: CandleRecord = candle_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a CandleRecord: {exc}") from exc
    return (
        bar.symbol,
        bar.interval_s,
        bar.source,
        _utc(bar.open_ts_ms),
        bar.open_ts_ms,
        _decimal(bar.open),
        _decimal(bar.high),
        _decimal(bar.low),
        _decimal(bar.close),
        _decimal(bar.volume),
        _decimal(bar.turnover),
        bar.trades,
        bar.exchange_ts_ms,
        bar.produced_ts_ms,
    )


_PRICE_PLACES = Decimal("1e-8")  # the columns' scale: ClickHouse would otherwise truncate


def signal_row(raw: bytes, inserted_ts_ms: int) -> Row:
    """Return the row of one ``sig.signals`` record (prices at the table's 8 places)."""
    try:
        signal = Signal.model_validate_json(raw)
    except ValueError as exc:
        raise BadInputError(f"not a Signal: {exc}") from exc
    names = sorted(signal.indicators)
    return (
        signal.signal_id,
        signal.strategy,
        signal.symbol,
        signal.side.value,
        signal.strength,
        *(
            None if p is None else p.quantize(_PRICE_PLACES)
            for p in (signal.entry_price, signal.stop_loss, signal.take_profit)
        ),
        signal.reason,
        names,
        [signal.indicators[name] for name in names],
        _utc(signal.created_ts_ms),
        signal.created_ts_ms,
        inserted_ts_ms,
    )
