"""Replay → Kafka → worker → ClickHouse, through the real broker and databases."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.support.recordings import ALL_TOPICS, FINAL_BOOKS, RECORDED_TRADES
from tradestream.cli.replay import replay_files
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.streams import topics
from tradestream.streams.lag import wait_until_consumed


async def _replay_and_drain(settings: Settings) -> None:
    summary = await replay_files(settings, [ALL_TOPICS], speed=None, progress=False)
    assert summary.total == 2529
    assert summary.dead_lettered == 0
    consumed = [settings.scoped(t.name) for t in topics.WORKER_INPUTS]
    await wait_until_consumed(settings, consumed, timeout_s=120)


async def _final_books(worker: WorkerProcess) -> dict[str, tuple[str, str, str]]:
    books = (await worker.get_json("/books/"))["books"]
    return {b["symbol"]: (b["status"], b["bids"][0][0], b["asks"][0][0]) for b in books}


async def test_replay_lands_books_and_trades_exactly_once(
    settings: Settings, worker: WorkerProcess, clickhouse: ClickHouseSink, redis: Redis
) -> None:
    expected = {s: ("valid", bid, ask) for s, (bid, ask) in FINAL_BOOKS.items()}

    await _replay_and_drain(settings)
    assert await _final_books(worker) == expected
    assert clickhouse.query("SELECT count() FROM {db}.trades FINAL")[0][0] == RECORDED_TRADES

    await _replay_and_drain(settings)
    assert await _final_books(worker) == expected
    trades = clickhouse.query("SELECT count(), uniqExact(symbol, trade_id) FROM {db}.trades FINAL")
    assert trades[0] == (RECORDED_TRADES, RECORDED_TRADES)

    last_tops = clickhouse.query(
        "SELECT symbol, argMax(bid_px, seq), argMax(ask_px, seq) FROM {db}.book_top FINAL"
        " GROUP BY symbol"
    )
    assert {s: (Decimal(b), Decimal(a)) for s, b, a in last_tops} == {
        s: (Decimal(b), Decimal(a)) for s, (b, a) in FINAL_BOOKS.items()
    }
    status = await worker.get_json("/books/BTCUSDT/")
    assert status["symbol"] == "BTCUSDT"
    assert status["gaps"] == 0
    assert await redis.xlen(settings.dlq_stream) == 0


async def test_features_land_in_clickhouse_with_their_schema(
    settings: Settings, worker: WorkerProcess, clickhouse: ClickHouseSink
) -> None:
    await _replay_and_drain(settings)
    schema = await worker.get_json("/features/names/")
    assert len(schema["names"]) >= 50
    rows = clickhouse.query(
        "SELECT symbol, count(), min(length(values)), max(length(values)), "
        "countIf(arrayExists(v -> isNaN(v) OR isInfinite(v), values)) "
        "FROM {db}.features FINAL GROUP BY symbol ORDER BY symbol"
    )
    assert [r[0] for r in rows] == sorted(FINAL_BOOKS)
    for _, count, shortest, longest, bad in rows:
        assert count > 10
        assert shortest == longest == len(schema["names"])
        assert bad == 0
    spread = clickhouse.query(
        "SELECT argMax(values[indexOf(s.names, 'spread')], exchange_ts_ms) FROM {db}.features "
        "FINAL ANY INNER JOIN {db}.feature_schemas AS s USING names_id WHERE symbol = 'BTCUSDT'"
    )
    assert spread[0][0] == pytest.approx(0.1)


async def test_metrics_view_serves_prometheus_text(worker: WorkerProcess) -> None:
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{worker.url}/metrics/") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    assert "tradestream_book_frames_total" in text
