"""A paper account outlives its trading worker: SIGKILL, restart, and the position is still open.

The paper exchange lives in the trading worker's memory; its account is saved in Redis after
every change (``exchange/paper_store.py``) and restored before the restarted worker's first
reconciliation. Without that, the new worker's exchange is flat and reconciliation "corrects"
the position in PostgreSQL to flat. Here a manual signal opens a position, the worker is
SIGKILLed and started again, its reconciliation passes see the position at the exchange, no
correction is written, and the kill switch still flattens it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import asyncpg
from redis.asyncio import Redis

from tests.support.trading_spine import publish_book_top, read_topic, rows, tradestream
from tests.support.waiting import eventually
from tests.support.workers import LOGS
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics

OPEN = "SELECT * FROM positions WHERE symbol = 'BTCUSDT' AND size > 0"


def _worker(settings: Settings) -> WorkerProcess:
    env = {"TRADESTREAM_NAMESPACE": settings.namespace, "TRADESTREAM_PARTITIONS": "4",
           "TRADESTREAM_ROLES": "trading", "TRADESTREAM_TRADING_MODE": "paper",
           "TRADESTREAM_RECONCILE_INTERVAL_S": "1"}  # fmt: skip
    return WorkerProcess(
        settings.web_port, LOGS / f"test-paper-restart-{settings.namespace}.log", env=env
    )


async def _snapshots_since(settings: Settings, since_ms: int) -> list[dict[str, Any]] | None:
    published = await read_topic(settings, topics.EXEC_RECONCILE.name)
    snapshots = [
        s for s in published if s.get("symbol") == "BTCUSDT" and s.get("taken_at_ms", 0) >= since_ms
    ]
    return snapshots if len(snapshots) >= 3 else None


async def test_a_sigkilled_paper_worker_comes_back_with_its_position(
    settings: Settings, pool: asyncpg.Pool, redis: Redis, kafka_cleanup: None
) -> None:
    await ensure_topics(settings)
    trading = settings.model_copy(update={"roles": ("trading",)})
    account_key = settings.scoped("tradestream", sep=":") + ":paper:account"
    proc = _worker(settings)
    proc.start()
    try:
        await proc.wait_ready()
        await publish_book_top(trading, "BTCUSDT")
        tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy", "--notional",
                    "200", "--price", "65000")  # fmt: skip
        [held] = await eventually(lambda: rows(pool, OPEN), within=30)
        assert await redis.exists(account_key)

        await asyncio.to_thread(proc.kill)
        restarted_ms = now_ms()
        proc = _worker(settings)
        proc.start()
        await proc.wait_ready()

        # Three passes of the new worker (a correction needs the same difference twice): the
        # exchange still holds the position. A correction would show in the audit log below.
        snapshots = await eventually(lambda: _snapshots_since(settings, restarted_ms), within=60)
        assert {Decimal(str(s["position_size"])) for s in snapshots} == {held["size"]}
        [still] = await rows(pool, OPEN)
        assert (still["size"], still["avg_entry"]) == (held["size"], held["avg_entry"])

        # The restored position can still be closed: the kill switch flattens it (once the
        # risk loop's group gave the killed worker's partitions to the new one).
        await publish_book_top(trading, "BTCUSDT")
        assert "trip_kill_switch" in tradestream(settings, "risk", "kill", "--reason", "itest")
        await eventually(
            lambda: rows(pool, "SELECT * FROM positions WHERE symbol = 'BTCUSDT' AND size = 0"),
            within=90,
        )
        closes = await rows(pool, "SELECT status FROM orders WHERE reduce_only OR side = 'Sell'")
        assert [c["status"] for c in closes] == ["filled"]
        # No correction while the restarted worker reconciled (the kill switch's own close can
        # race a 1 s reconciliation pass, so only what came before the trip is checked).
        tripped = "SELECT min(at_ms) AS at FROM audit_log WHERE action = 'killswitch.tripped'"
        [trip] = await eventually(lambda: rows(pool, tripped + " HAVING min(at_ms) > 0"))
        before = f"SELECT * FROM audit_log WHERE action LIKE 'reconcile.%' AND at_ms < {trip['at']}"  # noqa: S608
        corrected = await rows(pool, before)
        assert corrected == [], repr(corrected)[:2000]
    finally:
        await asyncio.to_thread(proc.stop)
        await redis.delete(account_key, account_key.replace(":account", ":orders"))
