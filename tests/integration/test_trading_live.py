"""Live mode: the trading worker trades through pybit, unmodified, on our Bybit simulator.

The simulator (REST, private WebSocket, signatures, matching) runs in the test; the worker runs
as a process with ``TRADESTREAM_TRADING_MODE=live`` pointed at it, as it would be at Bybit's
testnet. What the exchange holds is read from the simulator's admin API (its own records, which
count every create attempt by ``orderLinkId``), what we hold from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
from pybit.unified_trading import HTTP

from tests.support.trading_spine import rows, tradestream
from tests.support.waiting import eventually
from tests.support.workers import running_worker
from tradestream.config.settings import Settings
from tradestream.simulator import BybitSimulator
from tradestream.streams.admin import ensure_topics


def live_env(sim: BybitSimulator) -> dict[str, str]:
    """Settings of a live worker on the simulator, reconciling every second."""
    return {
        "TRADESTREAM_ROLES": "trading",
        "TRADESTREAM_TRADING_MODE": "live",
        "TRADESTREAM_BYBIT_API_KEY": "sim-key",
        "TRADESTREAM_BYBIT_API_SECRET": "sim-secret",
        "TRADESTREAM_BYBIT_REST_URL": sim.rest_url,
        "TRADESTREAM_BYBIT_PRIVATE_WS_URL": sim.private_url,
        "TRADESTREAM_RECONCILE_INTERVAL_S": "1",
    }


async def exchange_orders(sim: BybitSimulator) -> dict[str, Any]:
    """Return the simulator's own order records and create attempts."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.admin_url}/exchange/orders") as response,
    ):
        body: dict[str, Any] = await response.json()
        return body


async def deleverage(sim: BybitSimulator, symbol: str, qty: str) -> None:
    """Take ``qty`` off a position at the exchange, behind the worker's back."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sim.admin_url}/exchange/deleverage", json={"symbol": symbol, "qty": qty}
        ) as response,
    ):
        assert response.status == 200, await response.text()


def exchange_size(sim: BybitSimulator, symbol: str) -> Decimal:
    """Return the signed size of ``symbol``'s position at the exchange."""
    [wire] = sim.exchange.venue.positions(symbol)
    size = Decimal(str(wire["size"]))
    return -size if wire["side"] == "Sell" else size


async def test_a_signal_trades_live_through_pybit_once_and_lands_in_postgres(
    settings: Settings, sim: BybitSimulator, pool: asyncpg.Pool, kafka_cleanup: None
) -> None:
    await ensure_topics(settings)
    async with running_worker(settings, **live_env(sim)):
        tradestream(settings, "trade", "--symbol", "BTCUSDT", "--side", "buy", "--notional",
                    "300", "--price", "65000", "--reason", "live itest")  # fmt: skip
        [order] = await eventually(
            lambda: rows(pool, "SELECT * FROM orders WHERE status = 'filled'"), within=40
        )
        position = await eventually(
            lambda: rows(pool, "SELECT * FROM positions WHERE size > 0"), within=20
        )
        assert position[0]["size"] == order["cum_qty"] == exchange_size(sim, "BTCUSDT")
        kinds = await rows(pool, "SELECT kind FROM order_events ORDER BY occurred_ms")
        assert {"order_submitted", "order_filled"} <= {k["kind"] for k in kinds}
        held = await exchange_orders(sim)
        assert held["createAttempts"] == {order["order_link_id"]: 1}
        fills = await rows(pool, "SELECT * FROM executions")
        assert sum(f["qty"] for f in fills) == order["cum_qty"]


async def test_reconciliation_adopts_an_order_and_fixes_a_position_changed_behind_our_back(
    settings: Settings, sim: BybitSimulator, pool: asyncpg.Pool, kafka_cleanup: None
) -> None:
    await ensure_topics(settings)
    async with running_worker(settings, **live_env(sim)):
        tradestream(settings, "trade", "--symbol", "ETHUSDT", "--side", "buy", "--notional",
                    "400", "--price", "4000", "--reason", "live itest")  # fmt: skip
        held = await eventually(
            lambda: rows(pool, "SELECT * FROM positions WHERE symbol = 'ETHUSDT' AND size > 0"),
            within=40,
        )
        size = held[0]["size"]

        # Someone places an order by hand, and the exchange deleverages half the position.
        by_hand = HTTP(api_key="sim-key", api_secret="sim-secret")  # noqa: S106 - the simulator
        by_hand.endpoint = sim.rest_url
        await asyncio.to_thread(
            by_hand.place_order, category="linear", symbol="SOLUSDT", side="Buy",
            orderType="Limit", qty="1", price="50", orderLinkId="by-hand-1",
        )  # fmt: skip
        await deleverage(sim, "ETHUSDT", str(size / 2))
        assert exchange_size(sim, "ETHUSDT") == size / 2

        adopted = await eventually(
            lambda: rows(pool, "SELECT * FROM orders WHERE external"), within=30
        )
        assert [(o["order_link_id"], o["symbol"], o["status"]) for o in adopted] == [
            ("by-hand-1", "SOLUSDT", "acknowledged")
        ]
        fixed = f"SELECT * FROM positions WHERE symbol = 'ETHUSDT' AND size = {size / 2}"  # noqa: S608
        await eventually(lambda: rows(pool, fixed), within=30)
        audit = await rows(
            pool, "SELECT action, subject, details FROM audit_log "
            "WHERE action LIKE 'reconcile.%' ORDER BY id",
        )  # fmt: skip
        actions = [(a["action"], a["subject"]) for a in audit]
        assert actions == [("reconcile.order_adopted", "by-hand-1"),
                           ("reconcile.position_corrected", "ETHUSDT")]  # fmt: skip
        details = json.loads(audit[1]["details"])
        assert json.loads(details["before"])["size"] == str(size)
        assert Decimal(json.loads(details["after"])["size"]) == size / 2
