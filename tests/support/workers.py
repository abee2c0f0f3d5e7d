"""Start a real ``tradestream worker`` process for a test and stop it afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings

LOGS = Path(__file__).resolve().parents[2] / ".stack" / "logs"


@asynccontextmanager
async def running_worker(settings: Settings, **env: str) -> AsyncIterator[WorkerProcess]:
    """Run a worker on the test's namespace (``env``: more settings) until the block ends."""
    proc = WorkerProcess(
        settings.web_port,
        LOGS / f"test-worker-{settings.namespace}.log",
        env={"TRADESTREAM_NAMESPACE": settings.namespace, "TRADESTREAM_PARTITIONS": "4", **env},
    )
    proc.start()
    try:
        await proc.wait_ready()
        yield proc
    finally:
        await asyncio.to_thread(proc.stop)
