"""Protection end to end on paper: scripted prices in, closes at the right levels, PostgreSQL out.

A trading worker (paper, ``protection_clock=market``) runs the whole spine with the protection
agent; the test opens positions with ``tradestream trade``, scripts each symbol's book tops on
``md.book.top`` (the paper exchange fills against the same tops), and reads what protection
decided from PostgreSQL. The scenarios run side by side, one symbol each, in one worker. The
live counterpart, on the simulator through pybit, is ``test_protection_live.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from redis.asyncio import Redis

from tests.support.protection import (
    closes_of,
    config_dir,
    ended,
    open_long,
    publish_tops,
    size_is,
)
from tests.support.trading_spine import rows, tradestream
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms
from tradestream.streams.admin import ensure_topics

pytestmark = pytest.mark.timeout(240)
D = Decimal
SECOND = 1000
PAPER_PROTECTION = """
price_kinds: [mid]
exchange_stop: {min_interval_s: 1}
symbols:
  ETHUSDT:
    exchange_stop: {buffer: "0.2"}          # the gap must meet our stop, not the paper's
  DOGEUSDT:
    take_profit: {partials: []}
    staleness:
      rules:
        stop_loss: {degraded_s: 2, critical_s: 4}
        trailing_stop: {degraded_s: 2, critical_s: 4}
        take_profit: {degraded_s: 2, critical_s: 4}
      alert: {degraded_s: 2, critical_s: 4}
      emergency_after_s: 12
      emergency_action: close_after_price_check
"""


def paper_env(tmp: Path) -> dict[str, str]:
    """Settings of a paper trading worker on the market clock with the test's protection."""
    return {
        "TRADESTREAM_ROLES": "trading",
        "TRADESTREAM_PROTECTION_CLOCK": "market",
        "TRADESTREAM_CONFIG_DIR": str(config_dir(tmp, PAPER_PROTECTION)),
    }


@pytest.fixture
async def env(settings: Settings, tmp_path: Path, kafka_cleanup: None) -> dict[str, str]:
    """The topics of the test's namespace and the worker's environment."""
    await ensure_topics(settings)
    return paper_env(tmp_path)


@pytest.fixture
async def worker(settings: Settings, env: dict[str, str]) -> AsyncIterator[WorkerProcess]:
    """A paper trading worker with the protection agent."""
    async with running_worker(settings, **env) as proc:
        yield proc


async def take_profit_then_trail(settings: Settings, pool: asyncpg.Pool) -> None:
    """BTC: half at TP1 (+2 %), then the trailing stop 1 % behind the best price, to the tick."""
    await open_long(settings, pool, "BTCUSDT", ("65000.0", "65000.1"), notional="400")  # 0.006 BTC
    await publish_tops(settings, "BTCUSDT", [("66300.2", "66300.3", now_ms())], wait=False)
    await eventually(lambda: size_is(pool, "BTCUSDT", "0.003"), within=30)
    # Best 67000.05 (+3.08 %): trail 1 % behind, 66330.0495, up to the tick: 66330.1. A mid one
    # tick above it does nothing; the next, at 66330.05, closes the rest at market.
    await publish_tops(settings, "BTCUSDT", [("67000.0", "67000.1", now_ms()),
                                             ("66330.1", "66330.2", now_ms())])  # fmt: skip
    assert len(await closes_of(pool, "BTCUSDT")) == 1
    await publish_tops(settings, "BTCUSDT", [("66330.0", "66330.1", now_ms())], wait=False)
    tp1, trail = await ended(pool, "BTCUSDT", 2)

    assert (tp1["rule"], tp1["stage"], tp1["qty"], tp1["trigger_price"]) == (
        "take_profit", "tp1", D("0.003"), D("66300.2"))  # fmt: skip
    assert (tp1["status"], tp1["avg_price"]) == ("filled", D("66300.2"))
    assert (trail["rule"], trail["qty"], trail["trigger_price"], trail["observed_price"]) == (
        "trailing_stop", D("0.003"), D("66330.1"), D("66330.05"))  # fmt: skip
    assert (trail["status"], trail["avg_price"]) == ("filled", D("66330.0"))
    await eventually(lambda: size_is(pool, "BTCUSDT", "0"), within=30)


async def gap_through_the_stop(settings: Settings, pool: asyncpg.Pool) -> None:
    """ETH: the price gaps from 4000 to 3800 through the 3920.01 stop: closed at market."""
    await open_long(settings, pool, "ETHUSDT", ("4000.00", "4000.01"), notional="200")
    await publish_tops(settings, "ETHUSDT", [("3800.00", "3800.01", now_ms())], wait=False)
    [close] = await ended(pool, "ETHUSDT", 1)

    assert (close["rule"], close["trigger_price"], close["observed_price"]) == (
        "stop_loss", D("3920.01"), D("3800.005"))  # fmt: skip
    assert (close["status"], close["avg_price"], close["qty"]) == ("filled", D("3800.00"),
                                                                  D("0.05"))  # fmt: skip
    assert "gap of" in close["reason"]
    stops = await rows(pool, "SELECT * FROM protection_stops WHERE symbol = 'ETHUSDT' "
                             "AND where_held = 'exchange'")  # fmt: skip
    assert [s["stop_price"] for s in stops] == [D("3136.01")]  # 20 % beyond: set, never crossed


async def stale_feed(settings: Settings, pool: asyncpg.Pool) -> None:
    """DOGE: no decision on a stale price, an alert, then the emergency close at market."""
    opened_at = now_ms()
    await open_long(
        settings, pool, "DOGEUSDT", ("0.07055", "0.07056"), notional="100", ts_ms=opened_at
    )
    await asyncio.sleep(max(0.0, (opened_at + 6 * SECOND - now_ms()) / 1000))
    # A late top (stamped 0.5 s after the first, arriving 6 s later) crosses the 0.06915 stop:
    # 5.5 s old, past the stop-loss's 4 s, it decides nothing.
    await publish_tops(settings, "DOGEUSDT", [("0.06879", "0.06880", opened_at + 500)])
    [close] = await ended(pool, "DOGEUSDT", 1)

    held = await rows(pool, "SELECT * FROM protection_suppressed WHERE symbol = 'DOGEUSDT'")
    assert ("stop_loss", "stale_price") in {(h["rule"], h["suppress_reason"]) for h in held}
    alerts = await rows(pool, "SELECT * FROM stale_price_alerts WHERE symbol = 'DOGEUSDT' "
                              "ORDER BY at_ms")  # fmt: skip
    critical = [a for a in alerts if a["freshness"] == "critical" and not a["emergency_action"]]
    [emergency] = [a for a in alerts if a["emergency_action"]]
    assert critical
    assert critical[0]["at_ms"] < emergency["at_ms"] <= close["decided_ms"]
    assert emergency["emergency_action"] == "close_after_price_check"
    assert emergency["age_s"] >= 12
    assert (close["rule"], close["status"], close["avg_price"]) == ("stale_price", "filled",
                                                                    D("0.06879"))  # fmt: skip


async def the_signals_levels(settings: Settings, pool: asyncpg.Pool) -> None:
    """SOL: a signal with a stop and a take-profit: the exchange stop follows its stop, and the
    whole position closes at its take-profit (+1.19 %), before the +2 % TP1 of the config."""
    await open_long(settings, pool, "SOLUSDT", ("100.00", "100.01"), notional="100",
                    stop_loss="98.50", take_profit="101.20")  # fmt: skip
    await publish_tops(settings, "SOLUSDT", [("101.18", "101.19", now_ms())])  # mid 101.185
    assert await closes_of(pool, "SOLUSDT") == []
    await publish_tops(settings, "SOLUSDT", [("101.20", "101.21", now_ms())], wait=False)
    [close] = await ended(pool, "SOLUSDT", 1)

    assert (close["rule"], close["stage"], close["trigger_price"], close["qty"]) == (
        "take_profit", "", D("101.20"), D("1.0"))  # fmt: skip
    assert (close["status"], close["avg_price"]) == ("filled", D("101.20"))
    stops = await rows(pool, "SELECT * FROM protection_stops WHERE symbol = 'SOLUSDT' "
                             "AND where_held = 'exchange' ORDER BY at_ms")  # fmt: skip
    assert stops[0]["stop_price"] == D("97.52")  # 1 % beyond the signal's 98.50, not 2 % off
    await eventually(lambda: size_is(pool, "SOLUSDT", "0"), within=30)
    await the_signals_atr(settings, pool)


async def the_signals_atr(settings: Settings, pool: asyncpg.Pool) -> None:
    """SOL again: a signal with an ATR of 0.30: the trailing stop sits 2 ATRs behind the best
    price (101.70 - 0.60 = 101.10), not the 0.5 % callback's 101.20 (101.1915 up to the tick)."""
    await open_long(settings, pool, "SOLUSDT", ("100.00", "100.01"), notional="100", atr="0.30")
    await publish_tops(settings, "SOLUSDT", [("101.69", "101.71", now_ms()),   # best: +1.69 %
                                             ("101.14", "101.16", now_ms())])  # fmt: skip
    assert len(await closes_of(pool, "SOLUSDT")) == 1  # the callback would have closed at 101.15
    await publish_tops(settings, "SOLUSDT", [("101.09", "101.10", now_ms())], wait=False)
    _, close = await ended(pool, "SOLUSDT", 2)

    assert (close["rule"], close["trigger_price"], close["observed_price"]) == (
        "trailing_stop", D("101.10"), D("101.095"))  # fmt: skip
    assert (close["status"], close["avg_price"]) == ("filled", D("101.09"))
    await eventually(lambda: size_is(pool, "SOLUSDT", "0"), within=30)


async def test_scripted_prices_close_where_the_rules_say(
    settings: Settings, worker: WorkerProcess, pool: asyncpg.Pool, redis: Redis
) -> None:
    await asyncio.gather(
        take_profit_then_trail(settings, pool),
        gap_through_the_stop(settings, pool),
        stale_feed(settings, pool),
        the_signals_levels(settings, pool),
    )

    assert await redis.xlen(settings.dlq_stream) == 0  # nothing protection sent was refused
    health = await worker.get_json("/health/")
    assert set(health["protection"]["symbols"]) >= {"BTCUSDT", "ETHUSDT", "DOGEUSDT", "SOLUSDT"}
    assert health["protection"]["status"] == "ok"  # every position closed
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/metrics/") as got:
        metrics = await got.text()
    for name in ('protection_closes_total{phase="none",rule="trailing_stop"} 2.0',
                 'protection_closes_total{phase="none",rule="stale_price"} 1.0',
                 'protection_suppressed_total{reason="stale_price",rule="stop_loss"}',
                 'protection_trailing_activations_total{symbol="BTCUSDT"} 1.0',
                 'protection_stale_alerts_total{freshness="emergency",symbol="DOGEUSDT"} 1.0',
                 "protection_decision_latency_seconds_count"):  # fmt: skip
        assert name in metrics


async def protection_halted(worker: WorkerProcess) -> bool:
    """Tell whether the worker's protection follows a halted account."""
    return bool((await worker.get_json("/health/"))["protection"]["halted"])


async def test_the_kill_switch_closes_instead_of_protection_which_resumes_after_the_reset(
    settings: Settings, worker: WorkerProcess, pool: asyncpg.Pool
) -> None:
    sol = "SOLUSDT"
    await open_long(settings, pool, sol, ("100.00", "100.01"), notional="100")  # stop 98.01
    # Nobody bids: the kill switch's first market sell finds no one and expires, the long stays.
    await publish_tops(settings, sol, [("0", "100.01", now_ms())])
    assert "trip_kill_switch" in tradestream(settings, "risk", "kill", "--reason", "itest")
    await eventually(lambda: protection_halted(worker), within=30)

    async def flat_while_quoting() -> bool:
        # 97.505 is through the 98.01 stop, not the exchange's 97.03; each quote marks the
        # position, and the halted account closes what is still open at its next change.
        await publish_tops(settings, sol, [("97.50", "97.51", now_ms())], wait=False)
        return await size_is(pool, sol, "0")

    await eventually(flat_while_quoting, within=30, interval=0.5)

    sells = await rows(pool, "SELECT * FROM orders WHERE symbol = 'SOLUSDT' AND side = 'Sell' "
                             "ORDER BY created_at")  # fmt: skip
    statuses = [s["status"] for s in sells]
    assert (statuses[0], statuses[-1]) == ("expired", "filled")
    assert all(s["order_link_id"].startswith("killswitch-") for s in sells), sells
    assert await closes_of(pool, sol) == []  # protection sent nothing of its own
    held = "SELECT * FROM protection_suppressed WHERE symbol = 'SOLUSDT'"
    suppressed = await eventually(lambda: rows(pool, held), within=30)
    assert ("stop_loss", "kill_switch") in {(h["rule"], h["suppress_reason"]) for h in suppressed}
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/metrics/") as got:
        metrics = await got.text()
    assert 'protection_suppressed_total{reason="kill_switch",rule="stop_loss"}' in metrics

    # After the reset protection closes again: a new long, the same move, its own stop-loss.
    tradestream(settings, "risk", "reset", "--episode", "1", "--reason", "itest done")

    async def resumed() -> bool:
        return not await protection_halted(worker)

    await eventually(resumed, within=30)
    await open_long(settings, pool, sol, ("100.00", "100.01"), notional="100")
    await publish_tops(settings, sol, [("97.50", "97.51", now_ms())], wait=False)
    [close] = await ended(pool, sol, 1)

    assert (close["rule"], close["trigger_price"], close["status"]) == (
        "stop_loss", D("98.01"), "filled")  # fmt: skip
    await eventually(lambda: size_is(pool, sol, "0"), within=30)
