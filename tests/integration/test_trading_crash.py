"""Crash safety: SIGKILL trading workers at random points of a 240-order live session.

Two layouts: the whole trading side in one worker (``roles=trading``), killed twice; and the
execution part in a worker of its own beside the rest (risk, positions with the records sink,
protection, signals), where the execution worker and, separately, the positions worker are each
killed at a random moment and one of them a second time. Order commands stream onto
``exec.orders`` meanwhile. In the end the exchange (the simulator, counting create attempts by
``orderLinkId``) holds exactly one order per command, every one filled; the positions table
(``/positions/{symbol}/``) and PostgreSQL hold the same positions as the exchange, and
PostgreSQL the same orders and executions. The seed is printed; ``TRADESTREAM_CRASH_SEED``
replays a run.

Should Faust stop feeding a restarted worker one of its partitions (it did, until
``streams/commit_safety.py`` kept its fetch loop from dropping what a seek fetched again), the
worker notices and exits for a restart (``agents/stall_watch.py``), and the test restarts it as
a supervisor would, counting it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.integration.test_trading_live import exchange_orders, exchange_size, live_env
from tests.support.trading_spine import rows
from tests.support.waiting import eventually
from tests.support.workers import LOGS
from tradestream.agents.stall_watch import STALL_EXIT_CODE
from tradestream.cli.demo import free_port
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
_STATE: dict[str, Any] = {"stall_restarts": 0, "kills": []}


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


LAYOUTS = {
    "one_worker": {"trading": "trading"},
    "split": {"execution": "execution", "positions": "risk,positions,protection,signals"},
}
"""Per layout, each worker's name and roles; the worker named ``positions`` or ``trading``
serves the positions table."""


def worker(settings: Settings, sim: BybitSimulator, name: str, roles: str) -> WorkerProcess:
    env = {"TRADESTREAM_NAMESPACE": settings.namespace, "TRADESTREAM_PARTITIONS": "4",
           "TRADESTREAM_STALL_EXIT_AFTER_S": str(STALL_AFTER_S), **live_env(sim),
           "TRADESTREAM_ROLES": roles}  # fmt: skip
    log = LOGS / f"test-crash-{settings.namespace}-{name}.log"
    return WorkerProcess(free_port(), log, env=env)


def kill_plan(rng: random.Random, names: list[str]) -> list[str]:
    """Return which worker to kill, in order: each at least once, three kills in all."""
    plan = [*names, rng.choice(names)] if len(names) > 1 else [names[0], names[0]]
    rng.shuffle(plan)
    return plan


async def supervise(procs: dict[str, WorkerProcess], turn: asyncio.Lock) -> None:
    """Start a worker again when it exits by itself on a stall, as its supervisor would.

    A worker that Faust stops feeding after a rebalance exits with ``STALL_EXIT_CODE``
    (``agents/stall_watch.py``); systemd, Docker or Kubernetes start it again.
    """
    while True:
        await asyncio.sleep(0.5)
        async with turn:
            for name, proc in procs.items():
                if proc.exit_code() == STALL_EXIT_CODE:
                    _STATE["stall_restarts"] += 1
                    procs[name] = await _started_like(proc)


async def crash_and_restart(
    procs: dict[str, WorkerProcess], name: str, turn: asyncio.Lock, after_s: float
) -> None:
    """SIGKILL worker ``name`` after ``after_s`` seconds and start a new one in its place."""
    await asyncio.sleep(after_s)
    async with turn:
        await asyncio.to_thread(procs[name].kill)
        _STATE["kills"].append(name)
        procs[name] = await _started_like(procs[name])


async def _started_like(proc: WorkerProcess) -> WorkerProcess:
    proc.stop()  # it has exited (killed, or on a stall): this closes its log file
    again = WorkerProcess(proc.web_port, proc.log_path, env=proc.env)
    again.start()
    await again.wait_ready()
    return again


@pytest.mark.parametrize("layout", list(LAYOUTS))
async def test_sigkilled_workers_send_each_order_once_and_the_records_equal_the_exchange(
    settings: Settings, sim: BybitSimulator, pool: asyncpg.Pool, kafka_cleanup: None, layout: str
) -> None:
    seed = int(os.environ.get("TRADESTREAM_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"crash test seed {seed}, layout {layout}")
    _STATE.update(stall_restarts=0, kills=[])
    await ensure_topics(settings)
    orders = commands(rng)
    procs = {name: worker(settings, sim, name, roles) for name, roles in LAYOUTS[layout].items()}
    for proc in procs.values():
        proc.start()
    turn = asyncio.Lock()
    supervisor = asyncio.create_task(supervise(procs, turn))
    try:
        for proc in procs.values():
            await proc.wait_ready()
        producing = asyncio.create_task(stream(settings, orders))
        # Kill them at random moments of the session, each time once it trades again.
        first, *rest = kill_plan(rng, list(procs))
        await crash_and_restart(procs, first, turn, rng.uniform(0.5, 4.0))
        for name in rest:
            await _trading_again(sim)
            await crash_and_restart(procs, name, turn, rng.uniform(0.5, 3.0))
        await producing

        link_ids = {order_link_id_for(c) for c in orders}
        held = await eventually(lambda: _all_orders_at(sim, link_ids), within=120)
        attempts = held["createAttempts"]
        assert {link: attempts.get(link, 0) for link in link_ids} == dict.fromkeys(link_ids, 1)
        assert {o["orderStatus"] for o in held["list"]} == {"Filled"}

        table = procs.get("positions") or procs["trading"]
        await eventually(lambda: _table_matches(table, sim), within=60)
        try:
            await eventually(lambda: _all_filled_in(pool, sim, link_ids), within=120)
        except AssertionError as exc:  # name what is missing, and what exec.reports holds of it
            missing = _STATE["postgres_missing"]
            _STATE["reports_of_missing"] = await _reports_of(settings, missing)
            raise AssertionError(f"PostgreSQL is not the exchange: {_STATE}") from exc
        await eventually(lambda: _positions_match(pool, sim), within=60)
        executions = await rows(pool, "SELECT symbol, side, qty FROM executions")
        assert _net(executions) == {s: exchange_size(sim, s) for s in QTY}
        print(f"crash test ({layout}): {ORDERS} orders, {sum(attempts.values())} create "
              f"attempts, {len(executions)} executions, positions {_net(executions)}, kills "
              f"{_STATE['kills']}, {_STATE['stall_restarts']} restarts after a stall")  # fmt: skip
    finally:
        supervisor.cancel()
        print(f"crash test state: {_STATE}")
        for proc in procs.values():
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


async def _all_filled_in(pool: asyncpg.Pool, sim: BybitSimulator, link_ids: set[str]) -> bool:
    """Tell whether PostgreSQL holds every command's order filled, and exactly the exchange's.

    Beside the commands' orders the exchange may hold others of ours (protection's exchange
    stop, set on each position, can trigger on the simulator's own prices): PostgreSQL must
    hold those too, and nothing the exchange does not.
    """
    held = {str(r["order_link_id"]): str(r["status"])
            for r in await rows(pool, "SELECT order_link_id, status FROM orders")}  # fmt: skip
    at_exchange = {str(o["orderLinkId"]) for o in (await exchange_orders(sim))["list"]}
    counts: dict[str, int] = defaultdict(int)
    for status in held.values():
        counts[status] += 1
    _STATE["postgres_orders"] = dict(counts)
    _STATE["postgres_missing"] = sorted(link_ids - set(held))[:5]
    _STATE["postgres_not_at_exchange"] = sorted(set(held) - at_exchange)[:5]
    _STATE["exchange_not_in_postgres"] = sorted(at_exchange - set(held))[:5]
    return all(held.get(link) == "filled" for link in link_ids) and set(held) == at_exchange


async def _reports_of(settings: Settings, link_ids: list[str]) -> dict[str, list[str]]:
    """Return the kinds of the events ``exec.reports`` holds of each order (a failure's clue)."""
    consumer = AIOKafkaConsumer(
        settings.scoped(topics.EXEC_REPORTS.name),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[str, list[str]] = {link: [] for link in link_ids}
    try:
        while batch := await consumer.getmany(timeout_ms=2_000):
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    if event.get("order_link_id") in found:
                        found[event["order_link_id"]].append(f"{event['kind']}@{record.offset}")
    finally:
        await consumer.stop()
    return found


async def _positions_match(pool: asyncpg.Pool, sim: BybitSimulator) -> bool:
    held = {r["symbol"]: r["size"] for r in await rows(pool, "SELECT * FROM positions")}
    return all(held.get(s, Decimal(0)) == exchange_size(sim, s) for s in QTY)


async def _table_matches(proc: WorkerProcess, sim: BybitSimulator) -> bool:
    for symbol in QTY:
        try:
            view = await proc.get_json(f"/positions/{symbol}/")
        except aiohttp.ClientError:  # e.g. 404 while the table has not heard of the symbol
            return False
        size = Decimal(view["position"]["size"]) if view["position"] else Decimal(0)
        if size != exchange_size(sim, symbol):
            return False
    return True


def _net(executions: list[dict[str, object]]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for fill in executions:
        qty = Decimal(str(fill["qty"]))
        net[str(fill["symbol"])] += qty if fill["side"] == "Buy" else -qty
    return {s: net.get(s, Decimal(0)) for s in QTY}
