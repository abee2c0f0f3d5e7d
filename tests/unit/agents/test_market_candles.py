"""What a batch publishes on md.candles: bars built from trades, and Bybit's confirmed klines."""

from __future__ import annotations

import orjson

from tests.support.rdkafka_fakes import FakeMessage, FakeProducer
from tradestream.agents.market import MarketBatches
from tradestream.config.settings import Settings
from tradestream.core.market import MarketBooks, MarketConfig
from tradestream.schemas.market import CandleRecord, candle_decoder
from tradestream.streams.partitioning import partition_for_key
from tradestream.streams.rdkafka import DeliveryLedger, Outputs

SETTINGS = Settings(namespace="", partitions=4)
T0 = 1_786_310_760_000  # a minute boundary
BOOKS, TRADES, KLINES, CANDLES = "md.orderbook.raw", "md.trades.raw", "md.klines.raw", "md.candles"


def book(ts: int, u: int = 1, symbol: str = "ABCUSDT") -> bytes:
    data = {"s": symbol, "b": [["1.0", "1"]], "a": [["1.1", "1"]], "u": u, "seq": u}
    head = {"topic": f"orderbook.50.{symbol}", "type": "snapshot", "ts": ts, "cts": ts}
    return orjson.dumps({**head, "data": data})


def trades(*rows: tuple[int, str, str], symbol: str = "ABCUSDT") -> bytes:
    data = [
        {"T": ts, "s": symbol, "S": "Buy", "v": size, "p": price, "i": f"id{ts}", "seq": 1}
        for ts, price, size in rows
    ]
    return orjson.dumps({"topic": f"publicTrade.{symbol}", "ts": rows[-1][0], "data": data})


def kline(confirm: bool) -> bytes:
    bar = {
        "start": T0,
        "end": T0 + 59_999,
        "interval": "1",
        "open": "1.05",
        "close": "1.07",
        "high": "1.08",
        "low": "1.04",
        "volume": "12",
        "turnover": "12.8",
        "confirm": confirm,
        "timestamp": T0 + 60_010,
    }
    topic = "kline.1.ABCUSDT"
    return orjson.dumps({"topic": topic, "data": [bar], "ts": T0 + 60_010, "type": "snapshot"})


class Rig:
    """``MarketBatches`` building 60 s bars (1 s grace) over a fake producer."""

    def __init__(self, intervals: tuple[int, ...] = (60,)) -> None:
        ledger = DeliveryLedger()
        self.producer = FakeProducer(on_delivery=ledger.on_delivery)
        outputs = Outputs(self.producer, ledger)  # type: ignore[arg-type]
        config = MarketConfig(candle_intervals_s=intervals, candle_close_grace_ms=1000)
        books = MarketBooks(clock=lambda: 5, config=config)
        self.batches = MarketBatches(books, outputs, SETTINGS, lambda: 5, lambda: 5000)
        self.offset = 0

    def apply(self, *records: tuple[str, bytes]) -> None:
        batch = []
        for topic, raw in records:
            batch.append(FakeMessage(topic, 0, self.offset, raw))
            self.offset += 1
        assert self.batches.process(batch) == []

    def candles(self) -> list[CandleRecord]:
        return [candle_decoder.decode(r.value) for r in self.producer.records if r.topic == CANDLES]


def test_a_trade_of_the_next_minute_publishes_the_bar_of_the_last() -> None:
    rig = Rig()
    rig.apply((BOOKS, book(T0 - 5)))  # heard before the minute opened: the bar is whole
    rig.apply((TRADES, trades((T0 + 1, "1.05", "2"), (T0 + 2, "1.08", "0.1"))))
    rig.apply((TRADES, trades((T0 + 30_000, "1.04", "0.2"), (T0 + 59_999, "1.07", "0.3"))))
    assert rig.candles() == []
    rig.apply((TRADES, trades((T0 + 60_000, "1.1", "1"))))
    (bar,) = rig.candles()
    assert (bar.symbol, bar.interval, bar.source, bar.open_ts_ms) == ("ABCUSDT", "1", "trades", T0)
    assert (bar.open, bar.high, bar.low, bar.close) == ("1.05", "1.08", "1.04", "1.07")
    assert (bar.volume, bar.trades, bar.exchange_ts_ms) == ("2.6", 4, T0 + 60_000)


def test_a_quiet_symbols_bar_is_closed_by_its_book_frames_after_the_grace() -> None:
    rig = Rig()
    rig.apply((BOOKS, book(T0 - 5)), (TRADES, trades((T0 + 10, "1.05", "1"))))
    rig.apply((BOOKS, book(T0 + 60_999, u=2)))
    assert rig.candles() == []
    rig.apply((BOOKS, book(T0 + 61_000, u=3)))
    (bar,) = rig.candles()
    assert (bar.open_ts_ms, bar.close, bar.exchange_ts_ms) == (T0, "1.05", T0 + 61_000)


def test_the_first_bar_after_a_start_is_withheld_when_it_may_be_short() -> None:
    rig = Rig()
    rig.apply((TRADES, trades((T0 + 10, "1.05", "1"))))  # nothing heard before this minute
    rig.apply((TRADES, trades((T0 + 60_010, "1.05", "1"), (T0 + 120_000, "1.06", "1"))))
    assert [bar.open_ts_ms for bar in rig.candles()] == [T0 + 60_000]


def test_every_configured_interval_is_built() -> None:
    rig = Rig(intervals=(1, 5, 60))
    rig.apply((BOOKS, book(T0 - 5)), (TRADES, trades((T0 + 10, "1.05", "1"))))
    rig.apply((TRADES, trades((T0 + 60_000, "1.05", "1"))))
    assert sorted(bar.interval for bar in rig.candles()) == ["1", "1s", "5s"]


def test_only_a_confirmed_exchange_kline_is_published_keyed_by_symbol() -> None:
    rig = Rig()
    rig.apply((KLINES, kline(confirm=False)))
    assert rig.candles() == []
    rig.apply((KLINES, kline(confirm=True)))
    (bar,) = rig.candles()
    assert (bar.source, bar.interval_s, bar.open, bar.volume) == ("exchange", 60, "1.05", "12")
    (record,) = [r for r in rig.producer.records if r.topic == CANDLES]
    assert record.key == b"ABCUSDT"
    assert record.partition == partition_for_key(b"ABCUSDT", list(range(SETTINGS.partitions)))


def test_a_malformed_kline_frame_is_dead_lettered() -> None:
    rig = Rig()
    (letter,) = rig.batches.process([FakeMessage(KLINES, 0, 0, b'{"topic":"kline.1.X"}')])
    assert letter.source == KLINES
    assert rig.candles() == []
