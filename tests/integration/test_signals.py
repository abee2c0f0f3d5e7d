"""Bars and book tops in, strategy signals out: through the real broker into ClickHouse.

A trading worker runs the signal agent with one strategy enabled (a fast SuperTrend on 5-minute
bars, so it fires within a few hundred bars); a second worker runs the ClickHouse sinks. Real
BTCUSDT 1-minute klines (and their 5-minute roll-ups, as Bybit's confirmed klines would come)
go to ``md.candles``; one book top on ``md.book.top`` says the book was valid at the end of the
first half (with no scalper enabled the agent does not read ``md.features``). The signals of
the first half come out on ``sig.signals`` and in ClickHouse with exactly the ids a local
``SignalDesk`` gives; in the second half the book is stale and every signal is held back
(counted by reason on ``/metrics/``). The warm-up's REST endpoint is a closed port: the fetch
fails and the worker goes on cold, as documented.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import asyncpg
import msgspec
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.support.trading_spine import read_topic
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tests.unit.core.strategies.test_desk import aligned_minutes, record
from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.core.candles import Candle, roll_up
from tradestream.core.candles.records import candle_of
from tradestream.core.strategies.desk import SignalDesk
from tradestream.schemas.market import BookTop, CandleRecord
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.lag import wait_until_consumed

CONFIG = Path(__file__).resolve().parents[2] / "config"
SYMBOL = "BTCUSDT"
PARAMS = {"interval_s": 300, "supertrend_period": 5, "multiplier": 1.5}
STRATEGIES = f"""strategies:
  - name: st
    kind: supertrend
    symbols: [{SYMBOL}]
    params: {{interval_s: 300, supertrend_period: 5, multiplier: 1.5}}
"""
SUPPRESSED = "tradestream_signals_suppressed_total"


def bar_records(bars: Sequence[Candle]) -> list[CandleRecord]:
    """Return the 1-minute bars and their whole 5-minute roll-ups, in the order they close."""
    five = {b.close_ts_ms: b for b in roll_up(bars, 300) if b.close_ts_ms <= bars[-1].close_ts_ms}
    out: list[CandleRecord] = []
    for bar in bars:
        out.append(record(bar))
        if bar.close_ts_ms in five:
            out.append(record(five[bar.close_ts_ms]))
    return out


def top(ts_ms: int) -> BookTop:
    return BookTop(symbol=SYMBOL, status="valid", bid_px="65000", bid_sz="1", ask_px="65000.1",
                   ask_sz="1", u=1, seq=1, exchange_ts_ms=ts_ms, cts_ms=ts_ms, recv_ts_ms=ts_ms,
                   produced_ts_ms=ts_ms)  # fmt: skip


async def produce(settings: Settings, spec: topics.TopicSpec, values: Sequence[object]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send(settings.scoped(spec.name), msgspec.json.encode(value),
                                key=SYMBOL.encode())  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()


async def suppressed(worker: WorkerProcess, reason: str) -> float:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(f"{worker.url}/metrics/") as response,
    ):
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == SUPPRESSED and sample.labels.get("reason") == reason
    )


async def test_bars_become_signals_on_the_topic_and_in_clickhouse_until_the_book_goes_stale(
    settings: Settings,
    worker: WorkerProcess,  # market + sinks: lands sig.signals in ClickHouse
    clickhouse: ClickHouseSink,
    pool: asyncpg.Pool,  # the trading worker's PostgreSQL schema, dropped afterwards
    tmp_path: Path,
) -> None:
    for name in ("symbols.yaml", "risk.yaml"):
        shutil.copy(CONFIG / name, tmp_path / name)
    (tmp_path / "strategies.yaml").write_text(STRATEGIES)
    bars = aligned_minutes(2400, period_s=300)
    fresh, stale = bar_records(bars[:1200]), bar_records(bars[1200:])
    book = top(fresh[-1].exchange_ts_ms)
    desk = SignalDesk.of([("supertrend", "st", SYMBOL, PARAMS)])  # what the worker must do
    desk.on_book_top(book)
    expected = [s for r in fresh for s in desk.on_candle(r, candle_of(r)).signals]
    held_back = [h for r in stale for h in desk.on_candle(r, candle_of(r)).suppressed]
    assert len(expected) >= 3
    assert held_back
    assert {reason for _, reason in held_back} == {"book_stale"}

    await ensure_topics(settings)
    trading = settings.model_copy(update={"roles": ("trading",), "web_port": free_port()})
    env = {"TRADESTREAM_ROLES": "trading", "TRADESTREAM_CONFIG_DIR": str(tmp_path),
           "TRADESTREAM_BYBIT_REST_URL": f"http://127.0.0.1:{free_port()}",
           "TRADESTREAM_SIGNAL_WARMUP_TIMEOUT_S": "3"}  # fmt: skip
    async with running_worker(trading, **env) as trader:
        await produce(settings, topics.BOOK_TOP, [book])
        await wait_until_consumed(trading, [settings.scoped(topics.BOOK_TOP.name)], 30)
        await produce(settings, topics.CANDLES, fresh)

        async def published() -> list[str] | None:
            ids = [v["signal_id"] for v in await read_topic(settings, topics.SIGNALS.name)]
            return ids if len(ids) >= len(expected) else None

        assert await eventually(published, within=30) == [s.signal_id for s in expected]
        await produce(settings, topics.CANDLES, stale)

        async def all_held_back() -> bool:
            return await suppressed(trader, "book_stale") == len(held_back)

        await eventually(all_held_back, within=30)
        assert await published() == [s.signal_id for s in expected]

    async def landed() -> list[tuple[str, str, str]] | None:
        got = clickhouse.query(
            "SELECT signal_id, side, reason FROM {db}.signals FINAL ORDER BY created_ts_ms"
        )
        return got if len(got) >= len(expected) else None

    rows = await eventually(landed, within=30)
    assert rows == [(s.signal_id, s.side.value, s.reason) for s in expected]
