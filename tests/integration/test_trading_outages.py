"""Outages under the trading spine: Redis or PostgreSQL goes away, then comes back.

A trading worker (``roles=trading``) runs on the test's namespace with Redis or PostgreSQL behind
a ``TcpProxy``; the test cuts the proxy (connections reset, new ones refused) while the shared
server stays up, and restores it. Redis holds the ``orderLinkId`` reservations and the dead-letter
queue: while it is down nothing is sent and nothing is dropped, the events wait and go on once it
is back. PostgreSQL only receives the records: while it is down trading goes on, and the records
land once it is back, none twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from tests.support.tcp_proxy import TcpProxy
from tests.support.trading_spine import ASK, publish_book_top, read_topic, rows, tradestream
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.sinks.dead_letters import RedisDeadLetterQueue
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics

RETRIES = "tradestream_retried_events_total"
ETH_ROWS = """
    SELECT 'orders' AS "table" FROM orders WHERE symbol = 'ETHUSDT'
    UNION ALL SELECT 'executions' FROM executions WHERE symbol = 'ETHUSDT'
    UNION ALL SELECT 'order_events' FROM order_events WHERE symbol = 'ETHUSDT'
    UNION ALL SELECT 'positions' FROM positions WHERE symbol = 'ETHUSDT'
"""


@pytest.fixture
async def reservations(settings: Settings, redis: Redis) -> AsyncIterator[Redis]:
    """Redis, reached directly; the namespace's ``orderLinkId`` reservations go afterwards."""
    yield redis
    prefix = settings.scoped("tradestream", sep=":")
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def trading(settings: Settings, kafka_cleanup: None) -> Settings:
    """The settings the trading worker's consumer group is named from; its topics exist."""
    await ensure_topics(settings)
    return settings.model_copy(update={"roles": ("trading",)})


async def retries(worker: WorkerProcess, source: str) -> float:
    """Return how many attempts at ``source``'s events the worker has failed and retried."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{worker.url}/metrics/") as response,
    ):
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == RETRIES and sample.labels.get("source") == source
    )


async def trade(settings: Settings, *args: str) -> str:
    """Run ``tradestream trade`` off the event loop (the proxy lives on it)."""
    return await asyncio.to_thread(tradestream, settings, "trade", *args)


async def reports_of(settings: Settings, kind: str) -> list[dict[str, Any]]:
    """Return the ``kind`` events the worker published on ``exec.reports``."""
    return [r for r in await read_topic(settings, topics.EXEC_REPORTS.name) if r["kind"] == kind]


async def test_redis_down_holds_an_approved_order_unsent_and_sends_it_once_when_back(
    settings: Settings, trading: Settings, pool: asyncpg.Pool, reservations: Redis
) -> None:
    redis_url = settings.redis_url.get_secret_value()
    async with (
        TcpProxy.in_front_of(redis_url) as proxy,
        running_worker(settings, TRADESTREAM_ROLES="trading",
                       TRADESTREAM_REDIS_URL=proxy.through(redis_url)) as worker,
    ):  # fmt: skip
        await publish_book_top(trading, "BTCUSDT")
        await proxy.cut()
        await trade(settings, "--symbol", "BTCUSDT", "--side", "buy", "--notional", "100")

        approved = await eventually(
            lambda: rows(pool, "SELECT * FROM risk_decisions WHERE approved"), within=30
        )
        link_id = approved[0]["order_link_id"]
        await eventually(lambda: retries(worker, "exec.orders"), within=30)
        # Held back and tried again, and the log says so (the issue asks for this error).
        said = f"Redis unreachable: order {link_id} not sent, retrying in"
        await eventually(lambda: worker.log_path.read_text().count(said) >= 2, within=30)
        assert await read_topic(settings, topics.EXEC_REPORTS.name) == []
        assert await rows(pool, "SELECT * FROM order_events") == []
        ordered = await rows(pool, "SELECT * FROM orders")
        assert [(o["order_link_id"], o["status"]) for o in ordered] == [(link_id, "new")]
        assert worker.exit_code() is None

        await proxy.restore()
        executions = await eventually(lambda: rows(pool, "SELECT * FROM executions"), within=30)
        assert [(e["order_link_id"], e["qty"]) for e in executions] == [(link_id, Decimal("0.001"))]
        positions = await eventually(
            lambda: rows(pool, "SELECT * FROM positions WHERE size > 0"), within=30
        )
        assert [(p["symbol"], p["size"], p["avg_entry"]) for p in positions] == [
            ("BTCUSDT", Decimal("0.001"), Decimal(ASK))
        ]
        ordered = await rows(pool, "SELECT * FROM orders")
        assert [(o["order_link_id"], o["cum_qty"]) for o in ordered] == [
            (link_id, Decimal("0.001"))
        ]
        # One order reached the exchange: one acceptance, one fill.
        for kind in ("order_accepted", "order_filled"):
            assert [r["order_link_id"] for r in await reports_of(settings, kind)] == [link_id]
        letters = await RedisDeadLetterQueue(reservations, settings.dlq_stream).read_all()
        assert [x for x in letters if x.source == "exec.orders"] == []  # it waited instead


async def test_redis_down_keeps_a_dead_letter_waiting_and_the_worker_alive(
    settings: Settings, trading: Settings, pool: asyncpg.Pool, reservations: Redis
) -> None:
    redis_url = settings.redis_url.get_secret_value()
    signals = settings.scoped(topics.SIGNALS.name)
    async with (
        TcpProxy.in_front_of(redis_url) as proxy,
        running_worker(settings, TRADESTREAM_ROLES="trading",
                       TRADESTREAM_REDIS_URL=proxy.through(redis_url)) as worker,
    ):  # fmt: skip
        await proxy.cut()
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(signals, b"not a signal", key=b"BTCUSDT")
        finally:
            await producer.stop()

        await eventually(lambda: retries(worker, "dead_letters"), within=30)
        assert worker.exit_code() is None
        assert (await worker.get_json("/health/"))["status"] == "ok"
        assert await reservations.xlen(settings.dlq_stream) == 0

        await proxy.restore()
        dlq = RedisDeadLetterQueue(reservations, settings.dlq_stream)
        letters = await eventually(dlq.read_all, within=30)
        assert [(letter.source, letter.raw) for letter in letters] == [(signals, b"not a signal")]
        # The risk agent goes on after the letter: the next signal is answered.
        await trade(settings, "--symbol", "BTCUSDT", "--side", "buy", "--notional", "100",
                    "--price", "65000")  # fmt: skip
        await eventually(lambda: rows(pool, "SELECT * FROM risk_decisions"), within=30)


async def test_postgres_down_trading_goes_on_and_the_records_land_later_none_twice(
    settings: Settings, trading: Settings, pool: asyncpg.Pool, reservations: Redis
) -> None:
    dsn = settings.postgres_dsn.get_secret_value()
    async with (
        TcpProxy.in_front_of(dsn) as proxy,
        running_worker(settings, TRADESTREAM_ROLES="trading",
                       TRADESTREAM_POSTGRES_DSN=proxy.through(dsn)),
    ):  # fmt: skip
        await publish_book_top(trading, "BTCUSDT")
        await publish_book_top(trading, "ETHUSDT", bid="3000", ask="3000.1")
        await trade(settings, "--symbol", "BTCUSDT", "--side", "buy", "--notional", "100")
        await eventually(lambda: rows(pool, "SELECT * FROM positions WHERE size > 0"), within=30)

        await proxy.cut()  # the records agent's pool is reset under it
        await trade(settings, "--symbol", "ETHUSDT", "--side", "buy", "--notional", "100")
        await trade(settings, "--symbol", "BTCUSDT", "--side", "buy", "--notional", "100")
        await eventually(lambda: events_of(settings, topics.EXEC_REPORTS.name, "order_filled",
                                           "ETHUSDT"), within=30)  # fmt: skip
        await eventually(lambda: events_of(settings, topics.ACCOUNT_EVENTS.name,
                                           "position_changed", "ETHUSDT"), within=30)  # fmt: skip
        decided = await eventually(lambda: decisions(settings, 3), within=30)
        assert [d["approved"] for d in decided] == [True, True, False]
        assert await rows(pool, ETH_ROWS) == []
        assert len(await rows(pool, "SELECT * FROM risk_decisions")) == 1

        await proxy.restore()
        await eventually(lambda: landed(settings, pool), within=30)

    audited = await rows(pool, "SELECT subject, action FROM audit_log")
    twice = [k for k, n in Counter((a["subject"], a["action"]) for a in audited).items() if n > 1]
    assert twice == []
    eth = await rows(pool, "SELECT * FROM positions WHERE symbol = 'ETHUSDT'")
    assert [(p["size"], p["avg_entry"]) for p in eth] == [(Decimal("0.03"), Decimal("3000.1"))]


async def events_of(settings: Settings, name: str, kind: str, symbol: str) -> list[dict[str, Any]]:
    """Return the ``kind`` events of ``symbol`` the worker published on topic ``name``."""
    return [e for e in await read_topic(settings, name)
            if e.get("kind") == kind and e.get("symbol") == symbol]  # fmt: skip


async def decisions(settings: Settings, count: int) -> list[dict[str, Any]]:
    """Return the risk decisions on ``risk.decisions``, oldest first, once there are ``count``."""
    published = await read_topic(settings, topics.RISK_DECISIONS.name)
    published.sort(key=lambda d: d["decided_ts_ms"])
    return published if len(published) >= count else []


async def landed(settings: Settings, pool: asyncpg.Pool) -> bool:
    """Tell whether every decision, order event and execution published is in PostgreSQL once."""
    published = await read_topic(settings, topics.RISK_DECISIONS.name)
    reports = await read_topic(settings, topics.EXEC_REPORTS.name)
    fills = {r["exec_id"] for r in reports if "exec_id" in r}
    events = {(r["order_link_id"], r["kind"], r["occurred_at_ms"]) for r in reports}
    stored = {
        "decisions": [r["decision_id"] for r in await rows(pool, "SELECT * FROM risk_decisions")],
        "orders": [r["order_link_id"] for r in await rows(pool, "SELECT * FROM orders")],
        "executions": [r["exec_id"] for r in await rows(pool, "SELECT * FROM executions")],
        "events": [(r["order_link_id"], r["kind"], r["occurred_ms"])
                   for r in await rows(pool, "SELECT * FROM order_events")],
    }  # fmt: skip
    return (
        sorted(stored["decisions"]) == sorted({d["decision_id"] for d in published})
        and sorted(stored["orders"]) == sorted({r["order_link_id"] for r in reports})
        and sorted(stored["executions"]) == sorted(fills)
        and sorted(stored["events"]) == sorted(events)
    )
