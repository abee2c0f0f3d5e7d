"""The real ``tradestream ingest`` process under faults: it survives, reports health, and the
worker's books recover, through the real broker."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import yaml
from redis.asyncio import Redis

from tests.support.book_trace import as_top, expected_tops
from tests.support.fault_pipeline import Pipeline, TopicRecorder
from tests.support.recordings import ALL_TOPICS, FINAL_BOOKS
from tests.support.waiting import eventually
from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.simulator import (
    BybitSimulator,
    FaultKind,
    FaultSpec,
    ReplaySourceConfig,
    SimulatorConfig,
)
from tradestream.sinks.dead_letters import RedisDeadLetterQueue
from tradestream.streams import topics

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = sorted(FINAL_BOOKS)
BOOK = topics.ORDERBOOK_RAW.name
DROPPED, GAPPED, BROKEN = "BTCUSDT", "ETHUSDT", "SOLUSDT"


@pytest.fixture
async def simulator() -> AsyncIterator[BybitSimulator]:
    """The recording, looped at four times its speed, held until the test releases it."""
    source = ReplaySourceConfig(recording=(ALL_TOPICS,), speed=4.0, loops=0)
    config = SimulatorConfig(port=0, source=source, keep_frames=True, start_paused=True)
    async with BybitSimulator(config) as sim:
        yield sim


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A config directory whose symbols.yaml lists the recorded symbols, one socket each."""
    for name in ("strategies.yaml", "risk.yaml"):
        shutil.copy(ROOT / "config" / name, tmp_path / name)
    symbols = {"symbols": [{"symbol": s, "book_depth": 200} for s in SYMBOLS]}
    (tmp_path / "symbols.yaml").write_text(yaml.safe_dump(symbols), encoding="utf-8")
    return tmp_path


@pytest.fixture
def ingest_process(
    settings: Settings, simulator: BybitSimulator, config_dir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``tradestream ingest`` against the simulator; stopped with SIGTERM afterwards."""
    port = free_port()
    log_path = ROOT / ".stack" / "logs" / f"test-ingest-{settings.namespace}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TRADESTREAM_NAMESPACE": settings.namespace,
        "TRADESTREAM_PARTITIONS": "4",
        "TRADESTREAM_CONFIG_DIR": str(config_dir),
        "TRADESTREAM_KLINE_INTERVALS": "",  # books, trades and tickers only: what is faulted
    }
    command = [sys.executable, "-m", "tradestream.cli.main", "ingest", "--url", simulator.url]
    command += ["--health-port", str(port), "--symbols-per-connection", "1"]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _inject_faults(p: Pipeline) -> None:
    await p.inject(FaultSpec(fault=FaultKind.DROP, symbol=DROPPED))
    await p.inject(FaultSpec(fault=FaultKind.GAP, symbol=GAPPED, count=2))
    await p.inject(FaultSpec(fault=FaultKind.MALFORMED, symbol=BROKEN))
    await eventually(
        lambda: len(p.connections(DROPPED)) == 2 and _all_subscribed(p),
        within=15,
        message="ingest reconnected",
    )
    await eventually(lambda: p.resyncs(GAPPED), message="the worker asked for a resync")


async def _check_recovered(p: Pipeline, symbol: str) -> None:
    # Converged to the simulator's book, raw topics == sent frames, every book top as it must be.
    await eventually(lambda: p.converged(symbol), within=20, message=f"{symbol} converged")
    await eventually(lambda: p.raw_matches_sent(symbol), message=f"{symbol} raw == sent")
    expected = expected_tops(p.raw(BOOK, symbol))
    await eventually(lambda: len(p.book_tops(symbol)) >= len(expected), message="tops recorded")
    assert [as_top(record) for record in p.book_tops(symbol)] == expected


def _all_subscribed(p: Pipeline) -> bool:
    return sum(len(c.topics) for c in p.sim.hub.connections.values()) == 3 * len(SYMBOLS)


async def test_ingest_cli_survives_faults_and_its_books_recover(
    settings: Settings,
    simulator: BybitSimulator,
    ingest_process: tuple[subprocess.Popen[bytes], int],
    worker: WorkerProcess,
    redis: Redis,
) -> None:
    proc, port = ingest_process
    health_url = f"http://127.0.0.1:{port}/health"
    recorded = (topics.ORDERBOOK_RAW, topics.TRADES_RAW, topics.TICKERS_RAW, topics.BOOK_TOP)
    names = [settings.scoped(t.name) for t in (*recorded, topics.OPS_CONTROL)]
    p = Pipeline(settings, simulator, worker, TopicRecorder(settings, names), health_url)
    await eventually(lambda: _all_subscribed(p), within=30, message="ingest subscribed")
    await eventually(_health_answers(p), within=30, message="ingest /health answers")
    await p.recorder.start()
    try:
        simulator.resume()
        await eventually(lambda: all(len(p.raw(BOOK, s)) > 20 for s in SYMBOLS), within=20)
        await _inject_faults(p)
        simulator.pause()
        for symbol in SYMBOLS:
            await _check_recovered(p, symbol)
    finally:
        await p.recorder.stop()

    gapped = [record.status for record in p.book_tops(GAPPED)]
    assert "invalid" in gapped
    assert gapped[-1] == "valid"
    assert proc.poll() is None
    status, health = await p.ingest_health()
    assert status == 200
    assert [c["connected"] for c in health["connections"]] == [True] * len(SYMBOLS)
    assert sorted(c["connects"] for c in health["connections"]) == [1, 1, 1, 2]
    letters = await RedisDeadLetterQueue(redis, settings.dlq_stream).read_all()
    assert [letter.raw for letter in letters] == p.sent(BROKEN).broken
    assert letters[0].reason.startswith("undecodable frame")
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 20) == 0


def _health_answers(p: Pipeline) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            status, _ = await p.ingest_health()
        except OSError:
            return False
        return status == 200

    return probe
