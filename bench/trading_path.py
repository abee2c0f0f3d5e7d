"""Tick to order through the real broker: ingest receive of a book frame → order at the exchange.

What runs (a fresh namespace, removed at the end):

- a market simulator (``tradestream simulate --source synthetic``, ``--symbols`` at ``--rate``
  messages/s) → ``tradestream ingest`` → ``orderbook.raw`` → a market worker (roles=market,
  the mypyc-compiled hot path when built, no sinks) → ``md.book.top``;
- a synthetic, always-firing strategy in this process (librdkafka): it reads ``md.book.top`` and,
  ``--signals-per-s`` times a second, turns the valid top just read into a ``Signal`` (buy at the
  ask or sell at the bid, alternating per symbol, so positions flip and exposure stays small);
- a live trading worker (roles=trading, ``TRADESTREAM_TRADING_MODE=live``): risk agent →
  ``exec.orders`` → execution agent → pybit → an exchange simulator of its own (this script in
  ``--serve-exchange`` mode: same synthetic symbols at a trickle, order-create limit raised so the
  exchange never refuses; the market feed's event loop does not delay its REST answers), with a
  risk config whose limits let every signal through.

Per order chain (joined by signal id and ``orderLinkId``): the BookTop's ``recv_ts_ms`` (ingest's
receive time), its ``produced_ts_ms`` and Kafka CreateTime, our strategy's consume/produce times,
the risk decision's ``decided_ts_ms``, the ``exec.orders`` record's CreateTime and the exchange's
``createdTime`` of the ``orderLinkId`` (when the simulator took the create request: "left for the
exchange" plus one localhost HTTP transit). All clocks are this machine's wall clock, in ms.

In the same window a bare producer → broker → consumer ping (``--floor-rate``/s, linger 0, no
processing) gives the broker's hop floor. Our own time in the trading stages is read inside
them: the strategy, the risk agent and the execution agent each append their consumed → produced
µs to the ``stage_us`` header (``streams/stage_times.py``; for the execution agent: until the
order request leaves), and the ``order_submitted`` report carries the sum (``stage_times``). The
ingest and market stages are not stamped inside; their share is estimated from the segments as
before (total - ``KAFKA_HOPS`` x floor p50).

Usage: ``.venv/bin/python bench/trading_path.py [--rate N] [--signals-per-s N] [--seconds N]``
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import harness
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition
from pipeline import RECV_TS_US, CpuWindow, clean_up, consume_stamps, percentiles

from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.core.resilience.rate_limits import BucketConfig, RateLimitConfig
from tradestream.schemas.market import book_top_decoder
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal
from tradestream.simulator import BybitSimulator, SimulatorConfig
from tradestream.simulator.config import SyntheticSourceConfig
from tradestream.simulator.exchange_config import ExchangeSideConfig
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.stage_times import STAGES_HEADER, read_stages, with_stage

ROOT = harness.ROOT
RECORDING = (
    ROOT / "tests/fixtures/bybit/BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics"
    ".ndjson.gz"
)
LOGS = ROOT / ".stack" / "logs"
STRATEGY = "bench_t2o"
KAFKA_HOPS = 4
HOPS_WHY = (
    "4 broker hops + 1 HTTP request: orderbook.raw (ingest → market worker: raw frames are "
    "stored as received so any day can be replayed, and ingest stays a thin process), "
    "md.book.top (market worker → strategy: books are partitioned by symbol), sig.signals "
    "(strategy → risk agent: ONE partition, so the account's decisions are serialised), "
    "exec.orders (risk → execution agent: partitioned by symbol, beside the symbol's exchange "
    "session); then POST /v5/order/create to the exchange"
)
RISK_YAML = """
max_open_positions: 1000
max_positions_per_symbol: 1000
risk_per_trade: "0.02"
max_total_risk: "1"
max_position_notional_usdt: "1000000"
max_gross_notional_usdt: "100000000"
max_leverage: "100"
max_orders_per_minute: 1000000
max_daily_loss: "1"
max_drawdown: "1"
max_correlated_positions: 1000
correlation_threshold: 1.0
symbol_groups: {}
sizing: {mode: fixed_notional, fixed_notional_usdt: "100"}
"""


EXECUTION_YAML = """
# The exchange simulator takes 10,000 creates/s here; so may the gateway (50 signals/s is more than
# Bybit's 10/s for a regular account: a bench of our path, not of an account's limits).
rate_limits:
  order_create: {rate_per_s: 10000, burst: 10000}
"""


def progress(message: str) -> None:
    """Print a timestamped progress line."""
    print(f"[trading_path {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- the exchange simulator (child mode) ------------------------------------------------------


async def serve_exchange(port: int, symbols: int) -> None:
    """Serve the exchange side for ``symbols`` synthetic symbols until killed."""
    fast = BucketConfig(rate_per_s=10_000, burst=10_000)
    exchange = ExchangeSideConfig(rate_limits=RateLimitConfig(order_create=fast))
    source = SyntheticSourceConfig(recording=(RECORDING,), symbols=symbols, rate=100)
    async with BybitSimulator(SimulatorConfig(port=port, source=source, exchange=exchange)):
        await asyncio.Event().wait()


# ---- the synthetic strategy and the broker floor (threads) ------------------------------------


@dataclass(frozen=True, slots=True)
class Fired:
    """One signal the strategy sent, with the times of the book top that caused it."""

    signal_id: str
    recv_ms: int
    top_produced_ms: int
    top_create_ms: int
    consumed_us: int
    produced_us: int


def _client(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": settings.kafka_bootstrap, "socket.nagle.disable": True, **extra}


def make_signal(top: Any, signal_id: str, side: Side, now_ms: int) -> Signal:
    """Return the always-firing strategy's signal for one valid book top."""
    price = Decimal(top.ask_px if side is Side.BUY else top.bid_px)
    origin = {"origin_recv_ts_ms": float(top.recv_ts_ms)}
    return Signal(signal_id=signal_id, strategy=STRATEGY, symbol=top.symbol, side=side,
                  entry_price=price, reason="bench tick to order", created_ts_ms=now_ms,
                  indicators=origin)  # fmt: skip


def run_strategy(settings: Settings, per_s: float, stop: threading.Event) -> list[Fired]:
    """Read ``md.book.top`` and fire one signal per ``1/per_s`` s on the valid top just read."""
    consumer = Consumer(_client(settings, **{"group.id": f"{settings.namespace}.strategy"}))
    tops = settings.scoped(topics.BOOK_TOP.name)
    consumer.assign([TopicPartition(tops, p, OFFSET_END) for p in range(settings.partitions)])
    producer = Producer(_client(settings, **{"linger.ms": 0, "enable.idempotence": True}))
    signals = settings.scoped(topics.SIGNALS.name)
    fired: list[Fired] = []
    sides: dict[str, Side] = {}
    due = time.monotonic()
    try:
        while not stop.is_set():
            batch = consumer.consume(500, 0.05)
            consumed_us = time.time_ns() // 1000
            for message in batch:
                if message.error() is not None or time.monotonic() < due:
                    continue
                top = book_top_decoder.decode(message.value() or b"")
                if top.status != "valid":
                    continue
                side = Side.SELL if sides.get(top.symbol) is Side.BUY else Side.BUY
                sides[top.symbol] = side
                signal_id = f"t2o-{len(fired)}"
                raw = make_signal(top, signal_id, side, consumed_us // 1000).model_dump_json()
                produced_us = time.time_ns() // 1000
                stages = [(STAGES_HEADER, with_stage(None, "strategy", produced_us - consumed_us))]
                producer.produce(signals, raw.encode(), top.symbol.encode(), headers=stages)
                producer.poll(0)
                fired.append(Fired(signal_id, top.recv_ts_ms, top.produced_ts_ms,
                                   message.timestamp()[1], consumed_us, produced_us))  # fmt: skip
                due = max(due + 1 / per_s, time.monotonic() - 1)
    finally:
        producer.flush(10)
        consumer.close()
    return fired


def ping_floor(settings: Settings, topic: str, per_s: float, stop: threading.Event) -> None:
    """Produce empty records stamped with the send time (µs) to ``topic`` until ``stop``."""
    producer = Producer(_client(settings, **{"linger.ms": 0, "enable.idempotence": True}))
    while not stop.is_set():
        stamp = str(time.time_ns() // 1000).encode()
        producer.produce(topic, b"", headers=[(RECV_TS_US, stamp)])
        producer.poll(0)
        time.sleep(1 / per_s)
    producer.flush(10)


# ---- reading back -----------------------------------------------------------------------------


def read_topic(settings: Settings, name: str) -> list[tuple[int, dict[str, Any]]]:
    """Return (CreateTime ms, JSON value) of every record of a namespace topic."""
    consumer = Consumer(_client(settings, **{"group.id": f"{settings.namespace}.readback"}))
    topic = settings.scoped(name)
    consumer.assign(
        [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(settings.partitions)]
    )
    out = []
    try:
        while batch := consumer.consume(1000, 3.0):
            out += [
                (m.timestamp()[1], json.loads(m.value() or b"null"))
                for m in batch
                if m.error() is None
            ]
    finally:
        consumer.close()
    return out


def read_stage_times(settings: Settings) -> dict[str, dict[str, int]]:
    """Return each order's stage times (µs) from its ``order_submitted`` report's header."""
    consumer = Consumer(_client(settings, **{"group.id": f"{settings.namespace}.readback"}))
    topic = settings.scoped(topics.EXEC_REPORTS.name)
    consumer.assign(
        [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(settings.partitions)]
    )
    out: dict[str, dict[str, int]] = {}
    try:
        while batch := consumer.consume(1000, 3.0):
            for m in batch:
                stages = read_stages(m.headers()) if m.error() is None else {}
                if stages and b'"order_submitted"' in (m.value() or b""):
                    out[json.loads(m.value() or b"{}")["order_link_id"]] = stages
    finally:
        consumer.close()
    return out


def stage_figures(
    fired: list[Fired],
    decisions: list[tuple[int, dict[str, Any]]],
    stages: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """Return p50/p99 of each stage's own time and of their sum per order chain (ms)."""
    link = {d["signal_id"]: d["order_link_id"] for _, d in decisions if d.get("approved")}
    chained = [stages[link[f.signal_id]] for f in fired if link.get(f.signal_id) in stages]
    names = ("strategy", "risk", "execution")
    complete = [c for c in chained if all(n in c for n in names)]
    return {
        "chains_with_stage_times": len(complete),
        "in_process_sum": percentiles([sum(c[n] for n in names) / 1000 for c in complete], "ms"),
        "in_process_by_stage": {
            n: percentiles([c[n] / 1000 for c in complete], "ms") for n in names
        },
        "target_in_process_p99_ms": 5.0,
    }


async def exchange_created(admin_url: str) -> dict[str, int]:
    """Return the exchange's ``createdTime`` (ms) of each order, by ``orderLinkId``."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{admin_url}/exchange/orders") as response,
    ):
        body = await response.json()
    return {o["orderLinkId"]: int(o["createdTime"]) for o in body["list"]}


SEGMENTS = (
    "ingest_recv_to_top_produced",
    "top_produced_to_strategy_consumed",
    "strategy_in_process",
    "signal_produced_to_risk_decided",
    "risk_decided_to_order_produced",
    "order_produced_to_exchange",
)
HOP_SEGMENTS = (0, 1, 3, 5)
"""Segments that hold a broker hop (5 holds exec.orders and the HTTP request)."""


def chains(
    fired: list[Fired],
    decisions: list[tuple[int, dict[str, Any]]],
    orders: list[tuple[int, dict[str, Any]]],
    created: dict[str, int],
) -> list[tuple[float, list[float]]]:
    """Join each signal to its decision, order and exchange record; return (total, segments)."""
    decided = {d["signal_id"]: d for _, d in decisions if d.get("approved")}
    ordered = {o["signal_id"]: ts for ts, o in orders if o.get("kind") == "place_order"}
    out = []
    for f in fired:
        decision = decided.get(f.signal_id)
        order_ms = ordered.get(f.signal_id)
        if decision is None or order_ms is None or decision["order_link_id"] not in created:
            continue
        at_exchange = created[decision["order_link_id"]]
        consumed, produced = f.consumed_us / 1000, f.produced_us / 1000
        spans = [f.top_produced_ms - f.recv_ms, consumed - f.top_produced_ms, produced - consumed,
                 decision["decided_ts_ms"] - produced, order_ms - decision["decided_ts_ms"],
                 at_exchange - order_ms]  # fmt: skip
        out.append((float(at_exchange - f.recv_ms), spans))
    return out


def figures(joined: list[tuple[float, list[float]]], floor_p50: float) -> dict[str, Any]:
    """Return p50/p99 of the total, of each segment, and of our estimated own time."""
    totals = [total for total, _ in joined]
    ours = [total - KAFKA_HOPS * floor_p50 for total in totals]
    segments = {
        name: {
            **percentiles([spans[i] for _, spans in joined], "ms"),
            "holds_a_broker_hop": i in HOP_SEGMENTS,
        }
        for i, name in enumerate(SEGMENTS)
    }
    return {
        "chains": len(joined),
        "tick_to_order": percentiles(totals, "ms"),
        "our_time_estimate": percentiles(ours, "ms"),
        "segments": segments,
    }


# ---- the processes ----------------------------------------------------------------------------


class Stack:
    """The simulators, ingest and both workers of one run, as child processes."""

    def __init__(self, settings: Settings, args: argparse.Namespace, config_dir: Path) -> None:
        self.settings = settings
        self.args = args
        self.config_dir = config_dir
        self.market_port, self.exchange_port = free_port(), free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: dict[str, WorkerProcess] = {}

    @property
    def exchange_admin(self) -> str:
        """Return the exchange simulator's admin URL."""
        return f"http://127.0.0.1:{self.exchange_port}/admin"

    def _env(self) -> dict[str, str]:
        return {"TRADESTREAM_NAMESPACE": self.settings.namespace,
                "TRADESTREAM_PARTITIONS": str(self.settings.partitions),
                "TRADESTREAM_CONFIG_DIR": str(self.config_dir)}  # fmt: skip

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (LOGS / f"bench-t2o-{self.settings.namespace}-{name}.log").open("wb")
        env = {**os.environ, **self._env()}
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603

    async def start_simulators(self) -> list[str]:
        """Start both simulators; return the symbols the market one serves."""
        symbols = str(self.args.symbols)
        self._spawn("exchange", [sys.executable, __file__, "--serve-exchange",
                                 str(self.exchange_port), "--symbols", symbols])  # fmt: skip
        cli = [sys.executable, "-m", "tradestream.cli.main"]
        self._spawn("market-sim", [*cli, "simulate", "--source", "synthetic", "--recording",
                                   str(RECORDING), "--symbols", symbols, "--rate",
                                   str(self.args.rate), "--port", str(self.market_port),
                                   "--backlog-limit", "5000"])  # fmt: skip
        await get_json(f"{self.exchange_admin}/stats", within=60)
        stats = await get_json(f"http://127.0.0.1:{self.market_port}/admin/stats", within=60)
        return list(stats["source"]["symbols"])

    async def start_pipeline(self) -> None:
        """Start ingest, the market worker and the live trading worker; wait until ready."""
        url = f"ws://127.0.0.1:{self.market_port}/v5/public/linear"
        self._spawn("ingest", [sys.executable, "-m", "tradestream.cli.main", "ingest", "--url",
                               url, "--health-port", str(free_port())])  # fmt: skip
        flags: tuple[str, ...] = ()
        market_env = {**self._env(), "TRADESTREAM_ROLES": "market"}
        if (harness.BUILD / ".built").exists():
            market_env["PYTHONPATH"] = str(harness.BUILD)  # the compiled hot path, as deployed
            flags = ("-P",)
        exchange = f"http://127.0.0.1:{self.exchange_port}"
        trading_env = {**self._env(), "TRADESTREAM_ROLES": "trading",
                       "TRADESTREAM_TRADING_MODE": "live",
                       "TRADESTREAM_BYBIT_API_KEY": "sim-key",
                       "TRADESTREAM_BYBIT_API_SECRET": "sim-secret",
                       "TRADESTREAM_BYBIT_REST_URL": exchange,
                       "TRADESTREAM_BYBIT_PRIVATE_WS_URL": exchange.replace("http", "ws")
                       + "/v5/private"}  # fmt: skip
        workers: list[tuple[str, dict[str, str], tuple[str, ...]]] = [("market", market_env, flags)]
        if self.args.layout == "split":  # execution in a process of its own, beside the rest
            rest = "risk,positions,protection,signals"
            workers += [("execution", {**trading_env, "TRADESTREAM_ROLES": "execution"}, ()),
                        ("trading", {**trading_env, "TRADESTREAM_ROLES": rest}, ())]  # fmt: skip
        else:
            workers.append(("trading", trading_env, ()))
        for role, env, python_flags in workers:
            log = LOGS / f"bench-t2o-{self.settings.namespace}-{role}.log"
            self.workers[role] = WorkerProcess(free_port(), log, env=env, python_flags=python_flags)
            self.workers[role].start()
        for worker in self.workers.values():
            await worker.wait_ready(timeout_s=120)

    def pids(self) -> dict[str, int]:
        """Return the process id of every child and of this process."""
        pids = {name: proc.pid for name, proc in self.procs.items()}
        pids |= {f"{n}-worker": w.pid for n, w in self.workers.items() if w.pid is not None}
        return pids | {"bench (strategy, floor)": os.getpid()}

    def stop(self) -> None:
        """Stop the workers, then ingest and the simulators."""
        for worker in self.workers.values():
            worker.stop()
        for proc in reversed(self.procs.values()):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def get_json(url: str, within: float = 5.0) -> Any:
    """GET a JSON document, retrying until it answers or ``within`` s pass."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                return await response.json(content_type=None)
        except (aiohttp.ClientError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def write_config(directory: Path, symbols: list[str]) -> None:
    """Write the run's config dir: the served symbols, the strategies, permissive risk limits."""
    lines = ["symbols:"] + [f"  - {{symbol: {s}, book_depth: 200}}" for s in symbols]
    (directory / "symbols.yaml").write_text("\n".join(lines) + "\n")
    shutil.copy(ROOT / "config" / "strategies.yaml", directory / "strategies.yaml")
    (directory / "risk.yaml").write_text(RISK_YAML)
    (directory / "execution.yaml").write_text(EXECUTION_YAML)


async def create_floor_topic(settings: Settings, name: str) -> None:
    """Create the spare topic of the broker-floor ping (one partition)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()


# ---- the run ----------------------------------------------------------------------------------


class Threads:
    """The strategy thread and the broker-floor threads of one run."""

    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings = settings
        self.args = args
        self.floor_topic = f"{settings.namespace}.bench.floor"
        self.stop_strategy, self.stop_floor = threading.Event(), threading.Event()
        self.strategy: asyncio.Future[list[Fired]] | None = None
        self.floor: asyncio.Future[list[float]] | None = None

    def start_strategy(self) -> None:
        """Start firing signals."""
        run = asyncio.to_thread(run_strategy, self.settings, self.args.signals_per_s,
                                self.stop_strategy)  # fmt: skip
        self.strategy = asyncio.ensure_future(run)

    async def start_floor(self) -> None:
        """Start the bare consumer, then the ping."""
        ready = threading.Event()
        events = (ready, self.stop_floor)
        read = asyncio.to_thread(consume_stamps, self.settings, self.floor_topic, events, None)
        self.floor = asyncio.ensure_future(read)
        await asyncio.to_thread(ready.wait, 30)
        ping = threading.Thread(target=ping_floor, daemon=True, args=(
            self.settings, self.floor_topic, self.args.floor_rate, self.stop_floor))  # fmt: skip
        ping.start()

    async def results(self) -> tuple[list[Fired], list[float]]:
        """Stop both and return what they recorded."""
        self.stop_floor.set()
        self.stop_strategy.set()
        fired = await self.strategy if self.strategy is not None else []
        floor = await self.floor if self.floor is not None else []
        return fired, floor


async def first_order(stack: Stack, within_s: float) -> None:
    """Wait until the exchange holds an order (the whole chain is up)."""
    deadline = time.monotonic() + within_s
    while not await exchange_created(stack.exchange_admin):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no order reached the exchange in {within_s}s; see {LOGS}")
        await asyncio.sleep(0.5)


async def measure(stack: Stack, threads: Threads, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, measure over the window, read back and join the chains."""
    threads.start_strategy()
    await first_order(stack, 120)
    progress(f"first order at the exchange; warming up {args.warmup}s")
    await asyncio.sleep(args.warmup)
    await threads.start_floor()
    cpu = {name: CpuWindow(pid) for name, pid in stack.pids().items()}
    market_stats = f"http://127.0.0.1:{stack.market_port}/admin/stats"
    sent0 = (await get_json(market_stats))["totals"]["frames_sent"]
    for window in cpu.values():
        window.start()
    t0_us = time.time_ns() // 1000
    progress(f"measuring {args.seconds}s")
    await asyncio.sleep(args.seconds)
    t1_us = time.time_ns() // 1000
    cpu_percent = {name: round(window.percent(), 1) for name, window in cpu.items()}
    sent = (await get_json(market_stats))["totals"]["frames_sent"] - sent0
    fired, floor = await threads.results()
    await asyncio.sleep(args.drain)  # the orders of the last signals reach the exchange
    decisions = read_topic(stack.settings, topics.RISK_DECISIONS.name)
    orders = read_topic(stack.settings, topics.EXEC_ORDERS.name)
    created = await exchange_created(stack.exchange_admin)
    in_window = [f for f in fired if t0_us <= f.produced_us < t1_us]
    floor_figures = percentiles(floor, "ms")
    refused = collections.Counter(d["rule"] for _, d in decisions if not d.get("approved"))
    joined = chains(in_window, decisions, orders, created)
    stages = read_stage_times(stack.settings)
    return {
        "market_frames_per_s": round(sent / args.seconds),
        "signals_fired_in_window": len(in_window),
        "signals_per_s": round(len(in_window) / args.seconds, 1),
        "decisions_total": len(decisions),
        "refused_by_rule": dict(refused),
        "orders_on_exec_orders": len(orders),
        "orders_at_exchange": len(created),
        "orders_at_exchange_per_s_in_window": round(
            sum(t0_us <= ms * 1000 < t1_us for ms in created.values()) / args.seconds, 1
        ),
        "broker_floor": {"pings": len(floor), **floor_figures},
        **figures(joined, floor_figures.get("ms_p50", 0.0)),
        "stage_times": stage_figures(in_window, decisions, stages),
        "cpu_percent_of_one_core": cpu_percent,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything on a fresh namespace, measure, clean up."""
    namespace = f"bench_t2o_{uuid.uuid4().hex[:8]}"
    settings = Settings(namespace=namespace, partitions=8)
    LOGS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as config_dir:
        stack = Stack(settings, args, Path(config_dir))
        threads = Threads(settings, args)
        try:
            await ensure_topics(settings)
            await create_floor_topic(settings, threads.floor_topic)
            write_config(Path(config_dir), await stack.start_simulators())
            await stack.start_pipeline()
            progress(f"pipeline up on namespace {namespace}")
            return await measure(stack, threads, args)
        finally:
            await threads.results()
            await asyncio.to_thread(stack.stop)
            await clean_up(settings)
            await drop_trading_state(settings)


async def drop_trading_state(settings: Settings) -> None:
    """Drop the namespace's PostgreSQL schema and the trading worker's Faust data dir."""
    shutil.rmtree(settings.faust_data_dir / f"{settings.group_id}.trading-data", ignore_errors=True)
    connection = await asyncpg.connect(settings.postgres_dsn.get_secret_value())
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{settings.namespace}" CASCADE')
    finally:
        await connection.close()


def main() -> None:
    """Run the bench (or, with ``--serve-exchange``, be its exchange simulator)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--rate", type=int, default=10_000, help="market simulator msgs/s")
    parser.add_argument("--signals-per-s", type=float, default=50.0)
    parser.add_argument("--floor-rate", type=float, default=200.0, help="broker-floor pings/s")
    parser.add_argument("--warmup", type=int, default=15, help="seconds after the first order")
    parser.add_argument("--seconds", type=int, default=60, help="measured window")
    parser.add_argument("--drain", type=int, default=10, help="seconds for the last orders")
    parser.add_argument("--serve-exchange", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--layout",
        choices=("one", "split"),
        default="one",
        help="the trading side in one worker, or execution in a worker of its own",
    )
    parser.add_argument("--out", type=Path, default=harness.RESULTS / "trading_path.json")
    args = parser.parse_args()
    if args.serve_exchange is not None:
        asyncio.run(serve_exchange(args.serve_exchange, args.symbols))
        return
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill still cleans up
    load_before = os.getloadavg()
    measured = asyncio.run(run(args))
    results = {
        **harness.environment(),
        "what": "ms from ingest's receive of a book frame to the exchange simulator taking the "
        "order request it caused (synthetic always-firing strategy)",
        "kafka_hops": KAFKA_HOPS,
        "hops_why": HOPS_WHY,
        "config": {k: v for k, v in vars(args).items() if k not in {"serve_exchange", "out"}},
        **measured,
        "cpus": os.cpu_count(),
        "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
