"""Measure the risk agent alone through the real broker: signals/s on one partition, CPU per signal.

1. A fresh namespace (``bench_risk_<hex>``): ``--signals`` valid ``Signal`` records, keyed by
   symbol, are produced to ``sig.signals`` (one partition) while no worker runs. The produce
   rate (aiokafka, acks=all, idempotent, lz4, as the pipeline's producers) is the first floor.
2. Consumer floor: a bare aiokafka consumer reads the same signals from the topic and does
   nothing with them: what the broker and the client library give before any processing
   (records/s and this process's CPU per record).
3. One real trading worker (``tradestream worker``, ``TRADESTREAM_ROLES=trading``) starts on the
   backlog. Signals/s is taken from its first to its last decision on ``risk.decisions``
   (``decided_ts_ms``, one decision per signal); its CPU (user + system, all threads, from
   /proc/<pid>/stat sampled every 20 ms and interpolated at those two moments) per signal. The
   worker runs every trading agent, so its CPU includes the records agent landing the same
   decisions in PostgreSQL (as deployed); the report says how far behind that agent was.

Signals: only the four symbols the paper exchange has instrument rules for (BTC, ETH, SOL,
DOGE: ``RECORDED_INSTRUMENTS``, no default rules, and RiskDesk dead-letters a signal without
rules); the symbol only decides a decision's partition and the engine's per-symbol maps, so more
symbols would not change the cost per signal much. Each symbol has one side (a signal against a
pending entry would only reduce, and reductions are always approved), an entry at the recorded
book, a 2 % stop, a 4 % take profit and a few indicators, as a strategy sends them.
Limits (``--limits``):

* ``last-rule`` (default): ``config/risk.yaml`` with ``max_open_positions`` and
  ``max_positions_per_symbol`` raised, so that after the minute's budget of approvals
  (``max_orders_per_minute``: 60) every signal is sized and passes every rule but the last
  (``orders_per_minute``): each pays the whole evaluation, the worst case for the agent. The 60
  approved orders go to the execution agent (no book top: the paper exchange expires them, and
  risk stops counting them as pending when it hears so);
* ``product``: ``config/risk.yaml`` as it is: one entry per symbol, the rest refused early by
  ``max_positions_per_symbol``.

The namespace's topics, PostgreSQL schema, Redis keys and Faust data dir are removed at the end,
also on failure.

Usage: ``.venv/bin/python bench/risk_agent.py [--signals N] [--limits last-rule|product]``
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import harness
import orjson
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis

from tradestream.cli.demo import free_port
from tradestream.cli.demo_trading import forget_previous_run
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.exchange.paper import RECORDED_INSTRUMENTS
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.producer import build_producer
from tradestream.streams.topics import TopicSpec

ROOT = harness.ROOT
CLK_TCK = os.sysconf("SC_CLK_TCK")
SIDES = {"BTCUSDT": Side.BUY, "ETHUSDT": Side.SELL, "SOLUSDT": Side.BUY, "DOGEUSDT": Side.SELL}
RAISED_LIMITS = {"max_open_positions": 1000, "max_positions_per_symbol": 1000}
DECISIONS_LIMIT_S = 300
SAMPLE_EVERY_S = 0.02


def progress(message: str) -> None:
    """Print a timestamped progress line."""
    print(f"[risk_agent {time.strftime('%H:%M:%S')}] {message}", flush=True)


def bench_signals(count: int, now_ms: int) -> list[tuple[bytes, bytes]]:
    """Return ``count`` (key, Signal JSON) pairs over the symbols with paper instrument rules."""
    symbols = [s for s in RECORDED_INSTRUMENTS if s in harness.FINAL_BOOKS]
    out = []
    for i in range(count):
        symbol = symbols[i % len(symbols)]
        rules = RECORDED_INSTRUMENTS[symbol]
        price = Decimal(harness.FINAL_BOOKS[symbol][1])
        away = 1 if SIDES[symbol] is Side.BUY else -1
        stop = (price * (1 - away * Decimal("0.02"))).quantize(rules.tick_size)
        target = (price * (1 + away * Decimal("0.04"))).quantize(rules.tick_size)
        value = Signal(
            signal_id=f"bench-{i:07d}", strategy="bench_momentum", symbol=symbol,
            side=SIDES[symbol], strength=0.8, entry_price=price, stop_loss=stop,
            take_profit=target, reason="bench: momentum crossed up", created_ts_ms=now_ms + i,
            indicators={"ema_fast": float(price), "rsi": 61.5, "atr": float(price) * 0.004},
        )  # fmt: skip
        out.append((symbol.encode(), value.model_dump_json().encode()))
    return out


def config_dir(limits: str, into: Path) -> Path:
    """Write the pipeline config the worker reads, with the risk limits of ``limits``."""
    for path in (ROOT / "config").glob("*.yaml"):
        shutil.copy(path, into / path.name)
    if limits == "last-rule":
        risk = yaml.safe_load((into / "risk.yaml").read_text())
        (into / "risk.yaml").write_text(yaml.safe_dump({**risk, **RAISED_LIMITS}))
    return into


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def produce(settings: Settings, records: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Produce every signal to ``sig.signals`` as fast as the producer takes them (floor 1)."""
    topic = settings.scoped(topics.SIGNALS.name)
    producer = build_producer(settings)
    await producer.start()
    try:
        # The first signal connects the producer and finds the partition's leader (a new
        # topic's may not be elected yet: retried) before the clock starts.
        key, value = records[0]
        await producer.send_and_wait(topic, value, key=key)
        began, cpu = time.monotonic(), _cpu_s()
        for key, value in records[1:]:
            await producer.send(topic, value, key=key)
        await producer.flush()
        seconds, cpu_s = time.monotonic() - began, _cpu_s() - cpu
    finally:
        await producer.stop()
    timed = len(records) - 1
    progress(f"produced {len(records):,} signals ({timed / seconds:,.0f}/s)")
    return {
        "records": timed,
        "seconds": round(seconds, 3),
        "records_per_s": round(timed / seconds),
        "cpu_us_per_record": round(cpu_s / timed * 1e6, 1),
    }


async def bare_consume(settings: Settings, expected: int) -> dict[str, Any]:
    """Read the signals back with a bare aiokafka consumer, doing nothing with them (floor 2)."""
    part = TopicPartition(settings.scoped(topics.SIGNALS.name), 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([part])
        await consumer.seek_to_beginning(part)
        await consumer.position(part)  # connected and positioned before the clock starts
        began, cpu, seen = time.monotonic(), _cpu_s(), 0
        while seen < expected:
            for messages in (await consumer.getmany(timeout_ms=1000, max_records=2000)).values():
                seen += sum(1 for m in messages if m.value)
        seconds, cpu_s = time.monotonic() - began, _cpu_s() - cpu
    finally:
        await consumer.stop()
    progress(f"bare consumer read {seen:,} signals ({seen / seconds:,.0f}/s)")
    return {
        "records": seen,
        "seconds": round(seconds, 3),
        "records_per_s": round(seen / seconds),
        "cpu_us_per_record": round(cpu_s / seen * 1e6, 1),
    }


class CpuTrace:
    """Sample a process's CPU seconds (user + system, every thread) against wall time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall_ms: list[float] = []
        self.cpu_s: list[float] = []

    def sample(self) -> None:
        """Record the CPU seconds used so far, now."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        self.cpu_s.append((int(fields[11]) + int(fields[12])) / CLK_TCK)
        self.wall_ms.append(time.time() * 1000)

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)

    def at(self, wall_ms: float) -> float:
        """Return the CPU seconds at ``wall_ms``, interpolated between the nearest samples."""
        i = min(max(bisect.bisect_left(self.wall_ms, wall_ms), 1), len(self.wall_ms) - 1)
        t0, t1 = self.wall_ms[i - 1], self.wall_ms[i]
        c0, c1 = self.cpu_s[i - 1], self.cpu_s[i]
        return c0 + (c1 - c0) * (wall_ms - t0) / (t1 - t0) if t1 > t0 else c1


async def topic_ends(
    settings: Settings, spec: TopicSpec = topics.RISK_DECISIONS
) -> dict[TopicPartition, int]:
    """Return the end offset of every partition of ``spec`` (``risk.decisions``)."""
    name = settings.scoped(spec.name)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(name, p) for p in range(spec.partitions(settings))]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        return ends
    finally:
        await consumer.stop()


async def wait_for_decisions(settings: Settings, worker: WorkerProcess, expected: int) -> float:
    """Return when ``risk.decisions`` holds ``expected`` records; fail if the worker exits."""
    deadline = time.monotonic() + DECISIONS_LIMIT_S
    reported = 0
    while time.monotonic() < deadline:
        if worker.exit_code() is not None:
            raise RuntimeError(f"the worker exited; see {worker.log_path}")
        done = sum((await topic_ends(settings)).values())
        if done >= expected:
            return time.monotonic()
        if done >= reported + expected // 5:
            reported = done
            progress(f"{done:,} decisions")
        await asyncio.sleep(0.2)
    raise TimeoutError(f"fewer than {expected:,} decisions after {DECISIONS_LIMIT_S}s")


async def read_topic(
    settings: Settings, spec: TopicSpec = topics.RISK_DECISIONS
) -> list[dict[str, Any]]:
    """Read every record of ``spec`` (``risk.decisions``) so far, as JSON."""
    ends = await topic_ends(settings, spec)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    decisions: list[dict[str, Any]] = []
    try:
        wanted = [tp for tp, end in ends.items() if end > 0]
        consumer.assign(wanted)
        await consumer.seek_to_beginning(*wanted)
        remaining = {tp: ends[tp] for tp in wanted}
        while remaining:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                decisions.extend(orjson.loads(m.value) for m in messages)
                if messages and messages[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
    finally:
        await consumer.stop()
    return decisions


async def records_lag(settings: Settings) -> int:
    """Return how many decisions the trading group has not committed yet (the records agent)."""
    ends = await topic_ends(settings)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=settings.faust_app_id
    )
    await consumer.start()
    try:
        committed = {tp: await consumer.committed(tp) or 0 for tp in ends}
    finally:
        await consumer.stop()
    return sum(end - committed[tp] for tp, end in ends.items())


async def dead_letters(settings: Settings) -> int:
    """Return how many dead letters the namespace's DLQ holds."""
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        return int(await redis.xlen(settings.dlq_stream))
    finally:
        await redis.aclose()


def summarize(decisions: list[dict[str, Any]], trace: CpuTrace) -> dict[str, Any]:
    """Return signals/s first → last decision and the worker's CPU over that window."""
    times = sorted(d["decided_ts_ms"] for d in decisions)
    first, last = times[0], times[-1]
    seconds = (last - first) / 1000
    cpu_s = trace.at(last) - trace.at(first)
    intervals = len(times) - 1
    return {
        "decisions": len(decisions),
        "seconds_first_to_last": round(seconds, 3),
        "signals_per_s": round(intervals / seconds),
        "worker_cpu_us_per_signal": round(cpu_s / intervals * 1e6, 1),
        "worker_cpu_percent": round(100 * cpu_s / seconds, 1),
        "outcomes": dict(Counter(d["rule"] for d in decisions).most_common()),
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Produce, measure the floors, run the worker on the backlog; clean the namespace up."""
    namespace = f"bench_risk_{uuid.uuid4().hex[:8]}"
    settings = Settings(namespace=namespace, web_port=free_port(), roles=("trading",))
    env = {
        "TRADESTREAM_NAMESPACE": settings.namespace,
        "TRADESTREAM_PARTITIONS": str(settings.partitions),
        "TRADESTREAM_ROLES": "trading",
        "TRADESTREAM_CONFIG_DIR": str(config_dir(args.limits, workdir)),
        "TRADESTREAM_FAUST_DATA_DIR": str(workdir / "faust"),
    }
    log = ROOT / ".stack" / "logs" / f"bench-worker-{settings.namespace}.log"
    flags = () if args.cprofile is None else ("-m", "cProfile", "-o", str(args.cprofile))
    worker = WorkerProcess(settings.web_port, log, env=env, python_flags=flags)
    try:
        await ensure_topics(settings)
        records = bench_signals(args.signals, int(time.time() * 1000))
        produced = await produce(settings, records)
        consumed = await bare_consume(settings, len(records))
        progress("starting the trading worker on the backlog")
        worker.start()
        if worker.pid is None:
            raise RuntimeError("the worker did not start")
        trace = CpuTrace(worker.pid)
        sampling = asyncio.create_task(trace.run())
        await worker.wait_ready(timeout_s=120)
        profiler = None if args.py_spy is None else start_py_spy(worker.pid, args.py_spy)
        await wait_for_decisions(settings, worker, len(records))
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            await asyncio.to_thread(profiler.wait, 60)
        await asyncio.sleep(0.1)  # a sample after the last decision
        sampling.cancel()
        lag = await records_lag(settings)
        measured = summarize(await read_topic(settings), trace)
        reports = await read_topic(settings, topics.EXEC_REPORTS)
        progress(f"{measured['signals_per_s']:,} signals/s, "
                 f"{measured['worker_cpu_us_per_signal']} µs CPU per signal")  # fmt: skip
        return {
            "risk_agent": measured,
            "records_agent_lag_at_last_decision": lag,
            "dead_letters": await dead_letters(settings),
            "orders_sent": sum((await topic_ends(settings, topics.EXEC_ORDERS)).values()),
            "order_reports": dict(Counter(r["kind"] for r in reports).most_common()),
            "produce_floor": produced,
            "bare_consumer_floor": consumed,
            "worker_settings": {"namespace": settings.namespace, **env},
        }
    finally:
        await asyncio.to_thread(worker.stop)
        await forget_previous_run(settings)


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid``'s Python stacks (``py-spy`` on the PATH; stop it with SIGINT)."""
    command = ["py-spy", "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
               "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def main() -> None:
    """Parse the arguments, run the measurement, write ``bench/results/risk_agent.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=50_000)
    parser.add_argument("--limits", choices=("last-rule", "product"), default="last-rule")
    parser.add_argument("--out", default="risk_agent", help="report name in bench/results")
    parser.add_argument(
        "--cprofile",
        type=Path,
        default=None,
        help="run the worker under cProfile (its event-loop thread, start to stop) and write "
        "the stats to this file",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="also sample the worker's Python stacks until the last decision to this file "
        "(collapsed stacks; needs py-spy on the PATH)",
    )
    args = parser.parse_args()
    # SIGTERM (e.g. ``timeout``) stops the run like Ctrl-C, so the namespace is still cleaned up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    began = time.monotonic()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-risk-") as workdir:
        measured = asyncio.run(run(args, Path(workdir)))
    risk = measured["risk_agent"]
    harness.write_report(
        args.out,
        {
            "signals_per_s": risk["signals_per_s"],
            "worker_cpu_us_per_signal": risk["worker_cpu_us_per_signal"],
            "target_signals_per_s": 5_000,
            "signals": args.signals,
            "limits": args.limits,
            "commit": harness.commit(),
            **measured,
            "cpus": os.cpu_count(),
            "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "bench_seconds": round(time.monotonic() - began, 1),
        },
    )


if __name__ == "__main__":
    main()
