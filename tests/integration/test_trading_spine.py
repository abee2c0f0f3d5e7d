"""Signal → risk → order → paper fill → position → PostgreSQL, through the real broker.

A trading worker (``roles=trading``) runs the risk, execution, positions and records agents on
the test's namespace; the market is a valid book top produced on ``md.book.top`` as the market
engine would; signals come from the ``tradestream trade`` command, kill-switch commands from
``tradestream risk``, each run as a person would run them.
"""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import asyncpg
import pytest

from tests.support.trading_spine import ASK, publish_book_top, rows, tradestream
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.streams.admin import ensure_topics


@pytest.fixture
async def trading_worker(settings: Settings, kafka_cleanup: None) -> AsyncIterator[WorkerProcess]:
    """A worker running only the trading agents."""
    await ensure_topics(settings)
    async with running_worker(settings, TRADESTREAM_ROLES="trading") as proc:
        yield proc


async def test_a_manual_signal_becomes_a_filled_order_and_a_position_in_postgres(
    settings: Settings, trading_worker: WorkerProcess, pool: asyncpg.Pool
) -> None:
    trading = settings.model_copy(update={"roles": ("trading",)})
    await publish_book_top(trading, "BTCUSDT")
    printed = tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy",
                          "--notional", "100", "--reason", "itest")  # fmt: skip
    assert "signal man-" in printed

    filled = await eventually(
        lambda: rows(pool, "SELECT * FROM orders WHERE status = 'filled'"), within=30
    )
    assert len(filled) == 1
    order = filled[0]
    assert (order["side"], order["qty"], order["cum_qty"]) == ("Buy", Decimal("0.001"),
                                                                 Decimal("0.001"))  # fmt: skip
    assert order["avg_price"] == Decimal(ASK)
    decisions = await rows(pool, "SELECT * FROM risk_decisions")
    assert [(d["approved"], d["rule"], d["order_link_id"]) for d in decisions] == [
        (True, "approved", order["order_link_id"])
    ]
    position = await eventually(
        lambda: rows(pool, "SELECT * FROM positions WHERE size > 0"), within=30
    )
    assert (position[0]["symbol"], position[0]["size"]) == ("BTCUSDT", Decimal("0.001"))
    assert position[0]["avg_entry"] == Decimal(ASK)
    executions = await rows(pool, "SELECT * FROM executions")
    assert [(e["qty"], e["price"]) for e in executions] == [(Decimal("0.001"), Decimal(ASK))]
    assert executions[0]["fee"] > 0

    # A second entry into the same symbol is refused by max_positions_per_symbol (1).
    tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy", "--notional", "100")
    refused = await eventually(
        lambda: rows(pool, "SELECT * FROM risk_decisions WHERE NOT approved"), within=30
    )
    assert refused[0]["rule"] == "max_positions_per_symbol"
    audit = [r["action"] for r in await rows(pool, "SELECT action FROM audit_log ORDER BY id")]
    assert "risk.approved" in audit
    assert "order.order_filled" in audit
    assert "risk.refused.max_positions_per_symbol" in audit
    await _diagnostics_show_every_order_partition_settled(settings, trading_worker)


async def _diagnostics_show_every_order_partition_settled(
    settings: Settings, worker: WorkerProcess
) -> None:
    """``GET /diagnostics/`` reads Faust's real consumer: commits, acknowledgements, tasks."""
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/diagnostics/") as got:
        got.raise_for_status()
        report = await got.text()
    orders = [line for line in report.splitlines() if settings.scoped("exec.orders") in line]
    assert len(orders) == settings.partitions
    assert all("settled=True" in line and "unacked(offset, refcount, generation)=" in line
               for line in orders)  # fmt: skip
    assert "task " in report


async def test_the_kill_switch_flattens_refuses_survives_a_restart_and_resets_by_hand(
    settings: Settings, pool: asyncpg.Pool, kafka_cleanup: None
) -> None:
    await ensure_topics(settings)
    trading = settings.model_copy(update={"roles": ("trading",)})
    async with running_worker(settings, TRADESTREAM_ROLES="trading"):
        await publish_book_top(trading, "BTCUSDT")
        tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy", "--notional",
                    "200", "--price", "65000")  # fmt: skip
        await eventually(lambda: rows(pool, "SELECT * FROM positions WHERE size > 0"), within=30)

        assert "trip_kill_switch" in tradestream(settings, "risk", "kill", "--reason", "itest")
        flat = await eventually(
            lambda: rows(pool, "SELECT * FROM positions WHERE size = 0 AND updated_ms > 0"),
            within=30,
        )
        assert flat[0]["symbol"] == "BTCUSDT"
        closes = await rows(pool, "SELECT * FROM orders WHERE reduce_only OR side = 'Sell'")
        assert [c["status"] for c in closes] == ["filled"]
        tripped = await eventually(
            lambda: rows(pool, "SELECT * FROM kill_switch_episodes"), within=30
        )
        assert [(e["episode"], e["trigger"], e["reason"], e["tripped_by"], e["reset_ms"])
                for e in tripped] == [(1, "manual", "itest", getpass.getuser(), None)]  # fmt: skip

    # A restarted worker comes back halted: a new signal is refused.
    async with running_worker(settings, TRADESTREAM_ROLES="trading"):
        tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy", "--notional",
                    "200", "--price", "65000")  # fmt: skip
        refused = await eventually(
            lambda: rows(pool, "SELECT * FROM risk_decisions WHERE NOT approved"), within=30
        )
        assert refused[0]["rule"] == "trading_state"

        tradestream(settings, "risk", "reset", "--episode", "1", "--reason", "itest done")
        tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy", "--notional",
                    "200", "--price", "65000")  # fmt: skip
        # the entry before the trip and this one, after the reset
        both = "SELECT count(*) FROM risk_decisions WHERE approved HAVING count(*) = 2"
        assert await eventually(lambda: rows(pool, both), within=30)
        ended = await eventually(
            lambda: rows(pool, "SELECT * FROM kill_switch_episodes WHERE reset_ms IS NOT NULL"),
            within=30,
        )

    assert [(e["episode"], e["reset_reason"], e["resume_state"]) for e in ended] == [
        (1, "itest done", "active")
    ]
    assert ended[0]["reset_at"] > ended[0]["tripped_at"]
    changes = await rows(pool, "SELECT * FROM trading_state_changes ORDER BY changed_ms")
    assert [(c["episode"], c["from_state"], c["to_state"]) for c in changes] == [
        (1, "active", "halted"), (1, "halted", "active"),
    ]  # fmt: skip
    audit = await rows(pool, "SELECT action FROM audit_log WHERE subject = 'ks-1' ORDER BY at_ms")
    assert [a["action"] for a in audit] == ["killswitch.tripped", "killswitch.reset"]
