"""ClickHouse rows keep the exchange's decimals and reject malformed records."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.support.recordings import RECORDED_TRADES, TRADES, frames
from tradestream.core.errors import BadInputError
from tradestream.schemas.market import BookTop, book_top_encoder
from tradestream.sinks.clickhouse import schema_statements
from tradestream.sinks.rows import BOOK_TOP_COLUMNS, TRADE_COLUMNS, book_top_row, trade_rows


def test_recorded_trades_become_rows_with_exact_decimals() -> None:
    rows = [row for raw in frames(TRADES) for row in trade_rows(raw, 5, 6)]
    assert len(rows) == RECORDED_TRADES
    assert len({(r[0], r[1]) for r in rows}) == RECORDED_TRADES
    first = dict(zip(TRADE_COLUMNS, rows[0], strict=True))
    assert first["symbol"] == "BTCUSDT"
    assert first["price"] == Decimal("65114.20")
    assert first["side"] in {"Buy", "Sell"}
    assert first["ts"] == datetime.fromtimestamp(first["ts_ms"] // 1000, tz=UTC)


def test_book_top_row_roundtrip() -> None:
    top = BookTop(
        symbol="BTCUSDT",
        status="valid",
        bid_px="1.5",
        bid_sz="2",
        ask_px="1.6",
        ask_sz="3",
        u=9,
        seq=10,
        exchange_ts_ms=1786310818129,
        cts_ms=1,
        recv_ts_ms=2,
        produced_ts_ms=3,
    )
    row = dict(zip(BOOK_TOP_COLUMNS, book_top_row(book_top_encoder.encode(top)), strict=True))
    assert row["bid_px"] == Decimal("1.5")
    assert row["u"] == 9


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"nope",
        b'{"topic":"publicTrade.X","ts":1,"data":[{"T":1}]}',
        b'{"topic":"publicTrade.X","ts":1,"data":[{"T":1,"s":"X","S":"Buy","v":"abc","p":"1",'
        b'"i":"t"}]}',
    ],
)
def test_malformed_trade_frames_raise_bad_input(raw: bytes) -> None:
    with pytest.raises(BadInputError):
        trade_rows(raw, 0, 0)


def test_schema_is_rendered_for_the_namespace_database() -> None:
    statements = schema_statements("ns_tradestream")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS ns_tradestream"
    assert all("{" not in s for s in statements)
    assert any("ReplacingMergeTree" in s and "ns_tradestream.trades" in s for s in statements)
