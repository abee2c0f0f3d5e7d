"""md.candles records: trade-built bars written exactly, Bybit's confirmed klines passed through."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.candles import Candle
from tradestream.core.candles.records import (
    candle_of,
    exact_text,
    exchange_candle_records,
    price_text,
    trade_candle_record,
)
from tradestream.core.errors import BadInputError

START = 1_786_310_760_000


@pytest.mark.parametrize(
    ("value", "terms", "text"),
    [
        (65114.2, 1, "65114.2"),
        (0.07055, 1, "0.07055"),
        (0.1 + 0.2, 2, "0.3"),
        (100.0, 1, "100"),
        (0.0, 1, "0"),
        (1e-8, 1, "0.00000001"),
        (12345678901.123, 1, "12345678901.123"),
    ],
)
def test_exact_text_writes_the_decimal_a_float_stands_for(
    value: float, terms: int, text: str
) -> None:
    assert exact_text(value, terms) == text


@settings(max_examples=300, deadline=None)
@given(
    digits=st.integers(min_value=1, max_value=10**12),
    places=st.integers(min_value=0, max_value=10),
)
def test_a_price_is_written_back_as_the_exchange_wrote_it(digits: int, places: int) -> None:
    text = format(Decimal(digits).scaleb(-places), "f")
    canonical = text.rstrip("0").rstrip(".") if "." in text else text
    assert price_text(float(text)) == canonical
    assert exact_text(float(text)) == canonical


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=2000),
    places=st.integers(min_value=0, max_value=6),
)
def test_a_float_sum_of_sizes_is_written_as_their_exact_decimal_sum(
    sizes: list[int], places: int
) -> None:
    texts = [str(Decimal(size).scaleb(-places)) for size in sizes]
    total = 0.0
    for text in texts:  # left to right, as the bar builder adds (not a compensated sum)
        total += float(text)
    exact = sum(Decimal(t) for t in texts)
    assert Decimal(exact_text(total, len(texts))) == exact


def test_a_trade_built_bar_becomes_a_record_of_decimal_strings() -> None:
    candle = Candle("BTCUSDT", 60, START, 65119.9, 65119.9, 65114.2, 65114.3, 0.1 + 0.2, 19535.0, 2)
    record = trade_candle_record(candle, exchange_ts_ms=START + 60_100, produced_ts_ms=7)
    assert (record.interval, record.source, record.close_ts_ms) == ("1", "trades", START + 60_000)
    assert (record.open, record.low, record.close, record.volume) == (
        "65119.9",
        "65114.2",
        "65114.3",
        "0.3",
    )
    assert (record.trades, record.exchange_ts_ms, record.produced_ts_ms) == (2, START + 60_100, 7)
    assert candle_of(record) == Candle(
        "BTCUSDT", 60, START, 65119.9, 65119.9, 65114.2, 65114.3, 0.3, 19535.0, 2
    )


def test_sub_minute_bars_are_labelled_in_seconds() -> None:
    candle = Candle("BTCUSDT", 5, START, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1)
    assert trade_candle_record(candle, START, 0).interval == "5s"


def _kline_frame(confirm: bool, interval: str = "1") -> bytes:
    # Shaped as the recorded kline.1.BTCUSDT pushes (tests/fixtures/bybit).
    bar = {
        "start": START,
        "end": START + 59_999,
        "interval": interval,
        "open": "65119.9",
        "close": "65114.3",
        "high": "65119.9",
        "low": "65114.2",
        "volume": "1.576",
        "turnover": "102627.995",
        "confirm": confirm,
        "timestamp": START + 59_990,
    }
    frame = {"topic": f"kline.{interval}.BTCUSDT", "data": [bar], "ts": START + 59_990}
    return orjson.dumps({**frame, "type": "snapshot"})


def test_only_a_confirmed_kline_becomes_an_exchange_candle() -> None:
    assert exchange_candle_records(_kline_frame(False), produced_ts_ms=1) == []
    (record,) = exchange_candle_records(_kline_frame(True), produced_ts_ms=1)
    assert (record.symbol, record.interval, record.interval_s, record.source) == (
        "BTCUSDT",
        "1",
        60,
        "exchange",
    )
    assert (record.open, record.high, record.low, record.close) == (
        "65119.9",
        "65119.9",
        "65114.2",
        "65114.3",
    )
    assert (record.volume, record.turnover, record.trades) == ("1.576", "102627.995", 0)
    assert (record.open_ts_ms, record.close_ts_ms) == (START, START + 60_000)


@pytest.mark.parametrize("raw", [b"{}", b"not json", _kline_frame(True, interval="W")])
def test_a_malformed_kline_frame_is_bad_input(raw: bytes) -> None:
    with pytest.raises(BadInputError):
        exchange_candle_records(raw, produced_ts_ms=1)
