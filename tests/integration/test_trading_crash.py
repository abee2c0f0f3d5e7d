"""Crash safety: SIGKILL the trading worker at random points of a 240-order live session.

The live trading worker runs the execution and the positions agents (and risk, and the records
sink) in one process; order commands stream onto ``exec.orders`` while the worker is killed with
SIGKILL at a random moment, started again, and killed again at another random moment. In the
end the exchange (the simulator, counting create attempts by ``orderLinkId``) holds exactly one
order per command, every one filled, and PostgreSQL holds the same orders, executions and
positions as the exchange. The seed is printed; ``TRADESTREAM_CRASH_SEED`` replays a run.

Now and then Faust stops feeding a restarted worker one of its partitions (faust-streaming #175,
#523); the worker notices and exits for a restart (``agents/stall_watch.py``), and the test
restarts it as a supervisor would, counting it.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from tests.integration.test_trading_live import exchange_orders, exchange_size, live_env
from tests.support.trading_spine import rows
from tests.support.waiting import eventually
from tests.support.workers import LOGS
from tradestream.agents.stall_watch import STALL_EXIT_CODE
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.core.clock import now_ms
from tradestream.core.orders import order_link_id_for
from tradestream.schemas.orders import OrderType, PlaceOrder, Side
from tradestream.simulator import BybitSimulator
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics

ORDERS = 240
QTY = {"BTCUSDT": "0.001", "ETHUSDT": "0.01", "SOLUSDT": "0.1", "DOGEUSDT": "40"}
RATE_PER_S = 24.0

STALL_AFTER_S = 10
_STATE: dict[str, Any] = {"stall_restarts": 0}


def commands(rng: random.Random) -> list[PlaceOrder]:
    """Market orders over four symbols, more buys than sells, so positions remain open."""
    symbols = list(QTY)
    return [
        PlaceOrder(
            command_id=f"crash-{i}",
            strategy="crash",
            signal_id=f"s{i}",
            symbol=symbols[i % 4],
            side=Side.BUY if rng.random() < 0.6 else Side.SELL,
            order_type=OrderType.MARKET,
            qty=Decimal(QTY[symbols[i % 4]]),
            issued_at_ms=now_ms(),
        )
        for i in range(ORDERS)
    ]


async def stream(settings: Settings, orders: list[PlaceOrder]) -> None:
    """Produce the commands at a steady pace, keyed by symbol."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        name = settings.scoped(topics.EXEC_ORDERS.name)
        for command in orders:
            await producer.send_and_wait(
                name, command.model_dump_json().encode(), key=command.symbol.encode()
            )
            await asyncio.sleep(1 / RATE_PER_S)
    finally:
        await producer.stop()


def worker(settings: Settings, sim: BybitSimulator, name: str, port: int) -> WorkerProcess:
    env = {"TRADESTREAM_NAMESPACE": settings.namespace, "TRADESTREAM_PARTITIONS": "4",
           "TRADESTREAM_STALL_EXIT_AFTER_S": str(STALL_AFTER_S), **live_env(sim)}  # fmt: skip
    return WorkerProcess(port, LOGS / f"test-crash-{settings.namespace}-{name}.log", env=env)


async def supervise(procs: list[WorkerProcess], turn: asyncio.Lock) -> None:
    """Start the worker again when it exits by itself on a stall, as its supervisor would.

    A worker that Faust stops feeding after a rebalance exits with ``STALL_EXIT_CODE``
    (``agents/stall_watch.py``); systemd, Docker or Kubernetes start it again.
    """
    while True:
        await asyncio.sleep(0.5)
        async with turn:
            if procs[0].exit_code() == STALL_EXIT_CODE:
                _STATE["stall_restarts"] += 1
                procs[0] = await _started_like(procs[0])


async def crash_and_restart(procs: list[WorkerProcess], turn: asyncio.Lock, after_s: float) -> None:
    """SIGKILL the worker after ``after_s`` seconds and start a new one in its place."""
    await asyncio.sleep(after_s)
    async with turn:
        await asyncio.to_thread(procs[0].kill)
        procs[0] = await _started_like(procs[0])


async def _started_like(proc: WorkerProcess) -> WorkerProcess:
    again = WorkerProcess(proc.web_port, proc.log_path, env=proc.env)
    again.start()
    await again.wait_ready()
    return again


async def test_sigkilled_workers_send_each_order_once_and_the_records_equal_the_exchange(
    settings: Settings, sim: BybitSimulator, pool: asyncpg.Pool, kafka_cleanup: None
) -> None:
    seed = int(os.environ.get("TRADESTREAM_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"crash test seed {seed}")
    await ensure_topics(settings)
    orders = commands(rng)
    procs = [worker(settings, sim, "a", settings.web_port)]
    procs[0].start()
    turn = asyncio.Lock()
    supervisor = asyncio.create_task(supervise(procs, turn))
    try:
        await procs[0].wait_ready()
        producing = asyncio.create_task(stream(settings, orders))
        # Kill it at a random moment of the session, and again once it trades again.
        await crash_and_restart(procs, turn, rng.uniform(0.5, 4.0))
        await _trading_again(sim)
        await crash_and_restart(procs, turn, rng.uniform(0.5, 3.0))
        await producing

        link_ids = {order_link_id_for(c) for c in orders}
        held = await eventually(lambda: _all_orders_at(sim, link_ids), within=120)
        attempts = held["createAttempts"]
        assert {link: attempts.get(link, 0) for link in link_ids} == dict.fromkeys(link_ids, 1)
        assert {o["orderStatus"] for o in held["list"]} == {"Filled"}

        filled = (
            f"SELECT count(*) AS n FROM orders WHERE status = 'filled' HAVING count(*) = {ORDERS}"  # noqa: S608
        )
        await eventually(lambda: rows(pool, filled), within=120)
        await eventually(lambda: _positions_match(pool, sim), within=60)
        executions = await rows(pool, "SELECT symbol, side, qty FROM executions")
        assert _net(executions) == {s: exchange_size(sim, s) for s in QTY}
        print(f"crash test: {ORDERS} orders, {sum(attempts.values())} create attempts, "
              f"{len(executions)} executions, positions {_net(executions)}, "
              f"{_STATE['stall_restarts']} restarts after a stall")  # fmt: skip
    finally:
        supervisor.cancel()
        print(f"crash test state: {_STATE}")
        for proc in procs:
            await asyncio.to_thread(proc.stop)


async def _trading_again(sim: BybitSimulator) -> None:
    before = len((await exchange_orders(sim))["list"])

    async def more() -> bool:
        return len((await exchange_orders(sim))["list"]) > before

    await eventually(more, within=90, message="the restarted worker sends orders")


async def _all_orders_at(sim: BybitSimulator, link_ids: set[str]) -> dict[str, Any] | None:
    held = await exchange_orders(sim)
    mine = [o for o in held["list"] if o["orderLinkId"] in link_ids]
    unfilled = [(o["orderLinkId"], o["orderStatus"]) for o in mine if o["orderStatus"] != "Filled"]
    missing = sorted(link_ids - {o["orderLinkId"] for o in mine})
    _STATE["exchange"] = f"{len(missing)} missing {missing[:5]}, unfilled {unfilled[:5]}"
    return {**held, "list": mine} if not missing and not unfilled else None


async def _positions_match(pool: asyncpg.Pool, sim: BybitSimulator) -> bool:
    held = {r["symbol"]: r["size"] for r in await rows(pool, "SELECT * FROM positions")}
    return all(held.get(s, Decimal(0)) == exchange_size(sim, s) for s in QTY)


def _net(executions: list[dict[str, object]]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for fill in executions:
        qty = Decimal(str(fill["qty"]))
        net[str(fill["symbol"])] += qty if fill["side"] == "Buy" else -qty
    return {s: net.get(s, Decimal(0)) for s in QTY}
