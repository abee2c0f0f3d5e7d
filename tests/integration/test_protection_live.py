"""Protection in live mode: pybit, unmodified, on our Bybit simulator as the exchange.

The worker trades through pybit on the simulator (REST, private stream) and runs protection on
the ``market`` clock; the test moves the simulator's own book and the book tops on
``md.book.top`` together, so protection's decisions, the simulator's fills and the stop the
simulator holds all see one market. The simulator's state outlives the worker, which is what a
restart and a worker-less exchange stop need.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.integration.test_trading_live import exchange_size, live_env
from tests.support.protection import (
    Quote,
    closes_of,
    config_dir,
    ended,
    open_long,
    phase_is,
    publish_tops,
    set_sim_book,
    supervised_worker,
)
from tests.support.trading_spine import rows
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms
from tradestream.simulator import BybitSimulator
from tradestream.streams.admin import ensure_topics

pytestmark = pytest.mark.timeout(240)
D = Decimal
SECOND, HOUR = 1000, 3_600_000
LIVE_PROTECTION = """
price_kinds: [mid]
exchange_stop: {min_interval_s: 1}
closing: {timeout_s: 10, retry_delays_s: [5, 5, 5]}
symbols:
  SOLUSDT:                                  # aged: 15 % down must not meet the stop-loss
    stop_loss: {distance: "0.5"}
    take_profit: {partials: []}
  BTCUSDT:                                  # trailing and aged together
    stop_loss: {distance: "0.5"}
    take_profit: {partials: []}
    breakeven: {enabled: false}
  ETHUSDT:                                  # the exchange's stop
    take_profit: {partials: []}
"""
AGED_STATISTICS = """
SELECT c.aged_phase, count(*) AS closes, avg(a.realized_pnl_pct) AS pnl_pct,
       avg(extract(epoch FROM a.closed_at - a.detected_at) / 3600) AS hours
FROM aged_positions a JOIN protection_closes c ON c.close_id = a.close_order_id
WHERE a.phase = 'closed' GROUP BY 1
"""
"""Closes by phase, average age and PnL by phase, as the README's example asks them."""


@pytest.fixture
async def env(
    settings: Settings, sim: BybitSimulator, tmp_path: Path, kafka_cleanup: None
) -> dict[str, str]:
    """A live worker's settings on the simulator, the market clock and the test's protection."""
    await ensure_topics(settings)
    return {**live_env(sim), "TRADESTREAM_PROTECTION_CLOCK": "market",
            "TRADESTREAM_CONFIG_DIR": str(config_dir(tmp_path, LIVE_PROTECTION))}  # fmt: skip


async def move(
    settings: Settings, sim: BybitSimulator, symbol: str, quotes: Sequence[Quote]
) -> None:
    """Make the last quote the simulator's book and publish every quote as a book top."""
    set_sim_book(sim, symbol, quotes[-1][0], quotes[-1][1])
    await publish_tops(settings, symbol, quotes, wait=False)


async def test_aged_phases_over_31_hours_survive_a_restart_without_a_second_close(
    settings: Settings, sim: BybitSimulator, env: dict[str, str], pool: asyncpg.Pool
) -> None:
    # SOL held 15 % down: aged at 3 h (grace to 11 h), progressive to 31 h (15 % is never within
    # its tolerance), then closed at market in emergency. The worker restarts mid-progressive.
    down = ("65.67", "65.68")  # 77.27 x 0.85
    set_sim_book(sim, "SOLUSDT", "77.26", "77.27")
    async with supervised_worker(settings, **env):
        row = await open_long(settings, pool, "SOLUSDT", ("77.26", "77.27"), notional="100")
        opened = int(row["opened_at"].timestamp() * 1000)
        await move(settings, sim, "SOLUSDT", [(*down, opened + 3 * HOUR + 60 * SECOND)])
        await eventually(lambda: phase_is(pool, "grace"), within=20)
        await move(settings, sim, "SOLUSDT", [(*down, opened + 11 * HOUR + 60 * SECOND),
                                              (*down, opened + 15 * HOUR)])  # fmt: skip
        await eventually(lambda: phase_is(pool, "progressive"), within=20)

    async with supervised_worker(settings, **env):
        hours = (15 * HOUR, 20 * HOUR, 31 * HOUR + 60 * SECOND)  # the first seen before
        await move(settings, sim, "SOLUSDT", [(*down, opened + h) for h in hours])
        # A restarted worker may stall on a partition and be restarted by its supervisor a few
        # times (about 15 s each here; tests/support/protection.py): give it room for that.
        await eventually(lambda: phase_is(pool, "closed"), within=90)
        [close] = await ended(pool, "SOLUSDT", 1)

    history = await rows(pool, "SELECT * FROM aged_positions_history ORDER BY at_ms, attempts")
    assert [(h["from_phase"], h["to_phase"]) for h in history] == [
        (None, "detected"), ("detected", "grace"), ("grace", "progressive"),
        ("progressive", "emergency"), ("emergency", "closing"), ("closing", "closed"),
    ]  # fmt: skip
    at = {h["to_phase"]: h["at_ms"] - opened for h in history}
    for phase, hours in (("detected", 3), ("progressive", 11), ("emergency", 31)):
        assert hours * HOUR + 60 * SECOND <= at[phase] <= hours * HOUR + 70 * SECOND, phase
    [aged] = await rows(pool, "SELECT * FROM aged_positions")
    assert aged["phase"] == "closed"
    assert aged["progressive_at"].timestamp() * 1000 == opened + at["progressive"]
    assert (aged["close_price"], aged["close_order_id"], aged["attempts"]) == (
        D("65.67"), close["close_id"], 1)  # fmt: skip
    assert aged["realized_pnl_pct"] == D("-15.0123")  # (65.67 - 77.27) / 77.27, fees aside
    assert (close["rule"], close["aged_phase"], close["status"]) == ("aged_position", "emergency",
                                                                    "filled")  # fmt: skip
    assert exchange_size(sim, "SOLUSDT") == 0
    [stats] = await rows(pool, AGED_STATISTICS)
    assert (stats["aged_phase"], stats["closes"], stats["pnl_pct"]) == ("emergency", 1,
                                                                        D("-15.0123"))  # fmt: skip
    assert 27.99 < stats["hours"] < 28.01  # detected at 3 h, closed at 31 h


async def reject_next_order(sim: BybitSimulator) -> None:
    """Have the simulator refuse the next order it is sent."""
    fault = {"kind": "reject", "path": "/v5/order/create", "count": 1, "ret_code": 10001}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sim.admin_url}/exchange/faults", json=fault) as response,
    ):
        assert response.status == 200, await response.text()


def stop_held(sim: BybitSimulator, symbol: str, level: str) -> bool:
    """Tell whether the simulator holds ``level`` as the stop-loss of ``symbol``'s position."""
    held = sim.exchange.venue.stops.get(symbol)
    return held is not None and held.stop_loss == D(level)


async def test_trailing_beats_aged_and_the_exchange_stop_closes_without_a_worker(
    settings: Settings, sim: BybitSimulator, env: dict[str, str], pool: asyncpg.Pool
) -> None:
    set_sim_book(sim, "BTCUSDT", "65000.0", "65000.1")
    set_sim_book(sim, "ETHUSDT", "4000.00", "4000.01")
    async with running_worker(settings, **env):
        await open_long(settings, pool, "ETHUSDT", ("4000.00", "4000.01"), notional="200")
        await open_long(settings, pool, "BTCUSDT", ("65000.0", "65000.1"), notional="400")
        # ETH's hard stop: 2 % under entry (3920.01), 1 % further (3880.81), set at once.
        await eventually(lambda: stop_held(sim, "ETHUSDT", "3880.81"), within=20)

        # BTC aged 3 h later at 64000, grace: closes at breakeven 65071.61 or better (the
        # simulator's tick is 0.01). Its first close is refused; meanwhile 66000.05 starts a
        # trail at 65670.05 (0.5 % behind).
        aged_at = now_ms() + 3 * HOUR + 60 * SECOND
        await move(settings, sim, "BTCUSDT", [("64000.0", "64000.1", aged_at)])
        await eventually(lambda: phase_is(pool, "grace"), within=20)
        await reject_next_order(sim)
        up = [("65100.0", "65100.1", aged_at + SECOND), ("66000.0", "66000.1", aged_at + 2000)]
        await move(settings, sim, "BTCUSDT", up)
        await eventually(lambda: rejected(pool), within=20)
        # 65600.05 is under the trail and above breakeven: both fire, the trailing stop wins.
        await move(settings, sim, "BTCUSDT", [("65600.0", "65600.1", aged_at + 3 * SECOND)])
        aged, trail = await ended(pool, "BTCUSDT", 2)

        # ETH up 1.75 %: the trail (4049.66) tightens the hard stop to 4009.17.
        await move(settings, sim, "ETHUSDT", [("4070.00", "4070.01", now_ms())])
        await eventually(lambda: stop_held(sim, "ETHUSDT", "4009.17"), within=20)

    assert (aged["rule"], aged["status"]) == ("aged_position", "rejected")
    assert (trail["rule"], trail["trigger_price"], trail["status"], trail["avg_price"]) == (
        "trailing_stop", D("65670.05"), "filled", D("65600.0"))  # fmt: skip
    assert len(await closes_of(pool, "BTCUSDT")) == 2
    held = await rows(pool, "SELECT * FROM protection_suppressed WHERE symbol = 'BTCUSDT'")
    assert ("aged_position", "lower_priority") in {(h["rule"], h["suppress_reason"]) for h in held}
    assert exchange_size(sim, "BTCUSDT") == 0

    # No worker runs: the simulator's own market falls through ETH's stop and it closes.
    set_sim_book(sim, "ETHUSDT", "4000.00", "4000.01")
    await eventually(lambda: exchange_size(sim, "ETHUSDT") == 0, within=10)
    moved = await rows(pool, "SELECT stop_price FROM protection_stops WHERE symbol = 'ETHUSDT' "
                             "AND where_held = 'exchange' ORDER BY at_ms")  # fmt: skip
    assert [m["stop_price"] for m in moved] == [D("3880.81"), D("4009.17")]


async def rejected(pool: asyncpg.Pool) -> bool:
    """Tell whether BTC's first close came back refused."""
    found = await closes_of(pool, "BTCUSDT")
    return bool(found) and found[0]["status"] == "rejected"
