"""Convert bars to and from ``md.candles`` records, and Bybit's confirmed klines to records.

A trade-built ``Candle`` holds floats: its prices are floats parsed from exchange strings (exact
keys), its volume and turnover are float sums of them. On the wire every number is a decimal
string again (``exact_text``): a float sum of ``n`` decimals differs from the exact decimal sum by
at most about ``n`` units in the last place, so the fewest decimal places that the sum rounds to
within that bound give back the exact decimal (the trades' sizes have few places; a 1-minute
volume would need about 2**53 / n units of its last place before this could fail). Nothing per
trade is spent on precision: the conversion runs once per closed bar.
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from tradestream.core.candles.candle import INTERVALS_S, Candle, interval_label
from tradestream.core.errors import BadInputError
from tradestream.schemas.bybit import KlineFrame, kline_decoder, symbol_of_topic
from tradestream.schemas.market import CandleRecord

MAX_PLACES: Final = 12
"""Most decimal places a bar's number is written with."""


def exact_text(value: float, terms: int = 1) -> str:
    """Write a float that is a sum of ``terms`` exchange decimals as that decimal, plainly.

    Returns the value rounded to the fewest places (at most ``MAX_PLACES``) that lie within the
    float sum's error bound, without trailing zeros or exponent ("65114.2", "12.125", "3").
    """
    bound = 4.0 * (terms + 1) * math.ulp(value)
    for places in range(MAX_PLACES + 1):
        if abs(value - round(value, places)) <= bound:
            return _plain(f"{value:.{places}f}")
    return _plain(f"{value:.{MAX_PLACES}f}")


def price_text(value: float) -> str:
    """Write a float parsed from one exchange decimal back as that decimal, quickly.

    ``repr`` gives the shortest text that parses to the same float, which is the exchange's
    own string (without trailing zeros) for any decimal of up to 15 significant digits.
    """
    text = repr(value)
    if "e" in text:
        return exact_text(value)
    return text[:-2] if text.endswith(".0") else text


def _plain(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def trade_candle_record(candle: Candle, exchange_ts_ms: int, produced_ts_ms: int) -> CandleRecord:
    """Return the ``md.candles`` record of a bar the market engine built from trades."""
    return CandleRecord(
        symbol=candle.symbol,
        interval=interval_label(candle.interval_s),
        interval_s=candle.interval_s,
        source="trades",
        open_ts_ms=candle.open_ts_ms,
        close_ts_ms=candle.close_ts_ms,
        open=price_text(candle.open),
        high=price_text(candle.high),
        low=price_text(candle.low),
        close=price_text(candle.close),
        volume=exact_text(candle.volume, candle.trades),
        turnover=exact_text(candle.turnover, 2 * candle.trades),
        trades=candle.trades,
        exchange_ts_ms=exchange_ts_ms,
        produced_ts_ms=produced_ts_ms,
    )


def decode_klines(raw: bytes) -> KlineFrame:
    """Decode one ``kline`` frame, turning any malformation into a dead-letterable error."""
    try:
        return kline_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadInputError(f"not a Bybit kline frame: {exc}") from exc


def exchange_candle_records(raw: bytes, produced_ts_ms: int) -> list[CandleRecord]:
    """Return the confirmed bars of one raw Bybit ``kline`` frame as ``md.candles`` records.

    A forming bar (``confirm: false``) gives nothing: its values still change, and a candle is
    final. An interval we do not carry (``INTERVALS_S``) is bad input.
    """
    frame = decode_klines(raw)
    symbol = symbol_of_topic(frame.topic)
    records: list[CandleRecord] = []
    for kline in frame.data:
        if not kline.confirm:
            continue
        interval_s = INTERVALS_S.get(kline.interval)
        if interval_s is None:
            raise BadInputError(f"kline interval {kline.interval!r} is not one we carry")
        records.append(
            CandleRecord(
                symbol=symbol,
                interval=kline.interval,
                interval_s=interval_s,
                source="exchange",
                open_ts_ms=kline.start,
                close_ts_ms=kline.start + interval_s * 1000,
                open=kline.open,
                high=kline.high,
                low=kline.low,
                close=kline.close,
                volume=kline.volume,
                turnover=kline.turnover,
                trades=0,
                exchange_ts_ms=kline.timestamp,
                produced_ts_ms=produced_ts_ms,
            )
        )
    return records


def candle_of(record: CandleRecord) -> Candle:
    """Return the float ``Candle`` of an ``md.candles`` record (what indicators consume)."""
    return Candle(
        record.symbol,
        record.interval_s,
        record.open_ts_ms,
        float(record.open),
        float(record.high),
        float(record.low),
        float(record.close),
        float(record.volume),
        float(record.turnover),
        record.trades,
    )
