"""The book status a reader sees is current and its age is true, through the real broker.

A burst of real frames of one symbol, then silence: the ``book_status_by_symbol`` table must show
the burst's last ``u`` within one checkpoint interval (no further frame comes to push it out), and
its age must grow while nothing arrives until it reads stale. An insane frame of another symbol in
the same replay becomes a dead letter with its reason and invalidates that book.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis

from tests.support.recordings import OB200, frames
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.replay import replay_files
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings

INTERVAL_MS = 1_000
STALE_AFTER_MS = 8_000  # slack for a worker that joins its group seconds after the replay


def burst(symbol: str, deltas: int) -> list[bytes]:
    """Return the recording's first snapshot of ``symbol`` and the ``deltas`` deltas after it."""
    mine = [raw for raw in frames(OB200) if f'"s":"{symbol}"'.encode() in raw]
    start = next(i for i, raw in enumerate(mine) if b'"type":"snapshot"' in raw)
    return mine[start : start + 1 + deltas]


def insane(raw: bytes) -> bytes:
    frame = orjson.loads(raw)
    frame["data"]["a"] = [["NaN", "1"]]
    return orjson.dumps(frame)


@pytest.fixture
async def market_worker(settings: Settings, kafka_cleanup: None) -> AsyncIterator[WorkerProcess]:
    """A market-only worker with a short checkpoint interval and staleness threshold."""
    env = {
        "TRADESTREAM_ROLES": "market",
        "TRADESTREAM_BOOK_STATUS_INTERVAL_MS": str(INTERVAL_MS),
        "TRADESTREAM_BOOK_STALE_AFTER_MS": str(STALE_AFTER_MS),
    }
    async with running_worker(settings, **env) as proc:
        yield proc


async def test_a_burst_then_silence_is_checkpointed_and_ages_into_stale(
    settings: Settings, market_worker: WorkerProcess, redis: Redis, tmp_path: Path
) -> None:
    btc = burst("BTCUSDT", 49)
    eth = burst("ETHUSDT", 1)
    recording = tmp_path / "burst.ndjson.gz"
    with gzip.open(recording, "wb") as out:
        out.write(b"\n".join([*btc, eth[0], insane(eth[1])]) + b"\n")
    last_u = orjson.loads(btc[-1])["data"]["u"]

    summary = await replay_files(settings, [recording], speed=None, progress=False)
    sent_ms = int(time.time() * 1000)
    assert summary.total == len(btc) + 2

    async def checkpointed() -> dict[str, Any] | None:
        try:
            record = await market_worker.get_json("/books/BTCUSDT/")
        except aiohttp.ClientResponseError:  # 404 until the first checkpoint lands
            return None
        return record if record.get("last_u") == last_u else None

    status = await eventually(checkpointed, within=INTERVAL_MS / 1000 + 5)
    assert (status["status"], status["deltas"], status["gaps"]) == ("valid", 49, 0)
    assert status["stale"] is False
    assert status["age_ms"] < STALE_AFTER_MS

    later = await eventually(lambda: _aged_past(market_worker, status["age_ms"]))
    assert later["last_u"] == last_u  # nothing new arrived: only the age moved
    stale = await eventually(_stale(market_worker), within=STALE_AFTER_MS / 1000 + 5)
    assert stale["age_ms"] > STALE_AFTER_MS
    assert int(time.time() * 1000) - sent_ms >= STALE_AFTER_MS - 1_000

    letters = await redis.xrange(settings.dlq_stream)
    reasons = [fields[b"reason"].decode() for _, fields in letters]
    assert len(reasons) == 1
    assert reasons[0].startswith("InsaneFrameError: a[0] price nan")
    live = {b["symbol"]: b for b in (await market_worker.get_json("/books/"))["books"]}
    assert (live["ETHUSDT"]["status"], live["ETHUSDT"]["rejected"]) == ("invalid", 1)
    assert live["BTCUSDT"]["stale"] is True


async def _aged_past(worker: WorkerProcess, age_ms: int) -> dict[str, Any] | None:
    record = await worker.get_json("/books/BTCUSDT/")
    return record if record["age_ms"] > age_ms + 500 else None


def _stale(worker: WorkerProcess) -> Any:
    async def probe() -> dict[str, Any] | None:
        record = await worker.get_json("/books/BTCUSDT/")
        return record if record["stale"] else None

    return probe
