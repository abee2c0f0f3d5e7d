"""Measure one worker through the real broker: sustained throughput, then latency at a paced rate.

1. Stream: the simulator replays the recording as ``--symbols`` symbols (200-level books plus
   trades) flat out; a plain WebSocket client collects the frames. Cached in ``bench/.cache/``.
   The frames are then stamped as a live feed at ``--rate`` (``harness.paced``: exchange time
   moves with the stream, so features come at their configured 100 ms per symbol);
   ``--recorded-timestamps`` keeps the recording's, which makes every update due a vector.
   The worker runs the mypyc-compiled hot path as deployed (``--variant interpreted``: not).
2. Throughput: all of the stream but its last ``--rate`` x ``--seconds`` frames is produced to
   the raw topics of a fresh namespace while no worker runs; then ONE worker starts, and the time
   from its first processed frame until its consumer group's lag on the raw topics is zero gives
   the sustained rate.
3. Broker floor: the first ``--rate`` x 5 of those frames go, paced, to a scratch topic read by a
   bare librdkafka consumer (where the worker runs): what the box gives before any processing.
4. Latency: the same worker gets the remaining frames (the stream goes on: u, seq and time) paced
   at ``--rate`` for ``--seconds`` by a librdkafka producer (``--generator-linger-ms``), each
   stamped with the produce time (``recv_ts_ms``, and ``recv_ts_us`` for µs resolution);
   ``md.book.top`` and ``md.features`` are read back afterwards for receive → produced latency
   (also per second, to tell warm-up from steady state), while the worker's CPU (of one core,
   from /proc/<pid>/stat) and RSS are sampled over the window.

``--pin`` gives the measured worker a CPU of its own and puts the broker, this process and any
sink worker on the others (the broker's affinity is restored at the end). The paced generator
compresses as ingest does (lz4; ``--generator-compression``). ``--perf PATH`` records the
worker's native profile over the paced window (``perf record -g``; it sees inside the
mypyc-compiled modules and librdkafka, and costs the worker about 5% of a core).

The namespace's topics, ClickHouse database, Redis DLQ stream and Faust data dir are removed at
the end, also on failure.

Usage: ``.venv/bin/python bench/pipeline.py [--loops N] [--rate N] [--seconds N] [--out PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import harness
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import OFFSET_END, Consumer, Producer
from confluent_kafka import TopicPartition as ConfluentPartition
from redis.asyncio import Redis

from tradestream.cli.demo import free_port
from tradestream.cli.worker_process import WorkerProcess
from tradestream.config.settings import Settings
from tradestream.schemas.bybit import symbol_of_topic, topic_decoder
from tradestream.schemas.market import book_top_decoder, features_decoder
from tradestream.simulator import BybitSimulator, ReplaySourceConfig, SimulatorConfig
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.streams import topics
from tradestream.streams.admin import ensure_topics
from tradestream.streams.lag import group_lag
from tradestream.streams.producer import RECV_TS_HEADER, build_producer

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
RECORDING = "BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
SEARCH = (ROOT / "tests" / "fixtures" / "bybit", Path("/work/shared/data"))
LEVELS = 200
RECV_TS_US = "recv_ts_us"
PRODUCED_TS_US = "produced_ts_us"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BACKLOG_LIMIT_S = 330
"""Longest the throughput phase may take; with the drain limit the bench stays under 10 min."""
DRAIN_LIMIT_S = 90
FLOOR_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Frame:
    """One raw frame with the raw topic and key it is produced under."""

    book: bool
    key: bytes
    raw: bytes


def progress(message: str) -> None:
    """Print a timestamped progress line."""
    print(f"[pipeline {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- 1. the stream ---------------------------------------------------------------------------


def find_recording() -> Path:
    """Return the first copy of the recording found."""
    for folder in SEARCH:
        if (folder / RECORDING).exists():
            return folder / RECORDING
    sys.exit(f"recording {RECORDING} not found in {[str(f) for f in SEARCH]}")


async def record_stream(symbols: int, loops: int) -> list[bytes]:
    """Replay the recording as ``symbols`` symbols flat out and collect every data frame."""
    source = ReplaySourceConfig(
        recording=(find_recording(),), symbols=symbols, speed=0, loops=loops
    )
    collected: list[bytes] = []
    async with BybitSimulator(SimulatorConfig(port=0, start_paused=True, source=source)) as sim:
        wanted = [f"orderbook.{LEVELS}.{s}" for s in sim.symbols]
        wanted += [f"publicTrade.{s}" for s in sim.symbols]
        async with aiohttp.ClientSession() as session, session.ws_connect(sim.url) as ws:
            await ws.send_bytes(orjson.dumps({"op": "subscribe", "args": wanted, "req_id": "b"}))
            sim.resume()
            done = asyncio.ensure_future(sim.source_done())
            while True:
                try:
                    message = await ws.receive(timeout=2.0 if done.done() else 60.0)
                except TimeoutError:
                    break
                data = message.data
                raw = data if isinstance(data, bytes) else str(data).encode()
                if raw.startswith(b'{"topic"'):
                    collected.append(raw)
                    if len(collected) % 100_000 == 0:
                        progress(f"recorded {len(collected):,} frames")
    return collected


def load_stream(symbols: int, loops: int, regenerate: bool, rate: int) -> list[Frame]:
    """Return the cached stream, recording it first if needed, stamped as a live feed at ``rate``.

    With ``rate`` 0 the recorded timestamps stay (exchange time then runs ``rate`` / ~950 times
    slower than the stream and every book update is due a feature vector).
    """
    path = CACHE / f"stream-{symbols}sym-{LEVELS}lv-{loops}loops.ndjson.gz"
    if regenerate or not path.exists():
        progress(f"recording {symbols} symbols x {loops} loops from the simulator")
        lines = asyncio.run(record_stream(symbols, loops))
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with gzip.open(partial, "wb", compresslevel=1) as out:
            out.write(b"\n".join(lines))
        partial.replace(path)
    else:
        lines = gzip.decompress(path.read_bytes()).split(b"\n")
    if rate:
        lines = harness.paced(lines, rate)
    frames = []
    for raw in lines:
        topic = topic_decoder.decode(raw).topic
        frames.append(Frame(topic.startswith("orderbook"), symbol_of_topic(topic).encode(), raw))
    progress(f"stream: {len(frames):,} frames ({sum(f.book for f in frames):,} books) in {path}")
    return frames


# ---- 2. producing ----------------------------------------------------------------------------


def _headers() -> list[tuple[str, bytes]]:
    now_ns = time.time_ns()
    return [
        (RECV_TS_HEADER, str(now_ns // 1_000_000).encode()),
        (RECV_TS_US, str(now_ns // 1_000).encode()),
    ]


def _raw_names(settings: Settings) -> tuple[str, str]:
    return settings.scoped(topics.ORDERBOOK_RAW.name), settings.scoped(topics.TRADES_RAW.name)


async def produce_all(settings: Settings, frames: list[Frame]) -> None:
    """Produce every frame as fast as the producer takes them."""
    book_topic, trade_topic = _raw_names(settings)
    producer = build_producer(settings)
    await producer.start()
    try:
        for i, frame in enumerate(frames, 1):
            topic = book_topic if frame.book else trade_topic
            await producer.send(topic, frame.raw, key=frame.key, headers=_headers())
            if i % 100_000 == 0:
                progress(f"produced {i:,}")
        await producer.flush()
    finally:
        await producer.stop()


async def produce_paced(
    settings: Settings,
    frames: list[Frame],
    rate: int,
    linger_ms: float,
    to: tuple[str, str] | None = None,
    *,
    compression: str = "lz4",
) -> float:
    """Produce frames at ``rate`` per second (1 ms ticks); return the seconds it took.

    The load generator is librdkafka (C): at 10,000 msgs/s aiokafka's per-record ``send``
    took about 40% of a core on this 2-core box, CPU the measured worker and the broker then
    fought over. Same guarantees as ingest (idempotent, acks=all, murmur2 partitioning of the
    symbol key, lz4 unless ``compression`` says otherwise); Nagle off, and ``linger_ms``
    (default 1: the records that arrive within a millisecond go in one request, as ingest
    batches them) counts in the latency.
    ``to`` names the (book, trade) topics if not the raw ones.
    """
    book_topic, trade_topic = to or _raw_names(settings)
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "linger.ms": linger_ms,
            "compression.type": compression,
            "partitioner": "murmur2_random",
            "socket.nagle.disable": True,
        }
    )
    # The first frame connects the producer (idempotent: a producer id first) before the clock
    # starts, or the frames queued meanwhile would measure the connection.
    first = frames[0]
    producer.produce(book_topic if first.book else trade_topic, first.raw, first.key)
    await asyncio.to_thread(producer.flush, 30)
    started = time.monotonic()
    sent = 1
    while sent < len(frames):
        due = min(len(frames), int((time.monotonic() - started) * rate) + 2)
        for frame in frames[sent:due]:
            topic = book_topic if frame.book else trade_topic
            producer.produce(topic, frame.raw, frame.key, headers=_headers())
        sent = due
        producer.poll(0)
        await asyncio.sleep(0.001)
    left = await asyncio.to_thread(producer.flush, 30)
    if left:
        raise RuntimeError(f"{left} paced frames were not acknowledged")
    return time.monotonic() - started


def consume_stamps(
    settings: Settings,
    topic: str,
    events: tuple[threading.Event, threading.Event],
    cpus: set[int] | None,
) -> list[float]:
    """Read ``topic`` from its end until ``stop``; return receive → consumed latencies in ms.

    With ``cpus`` the consumer (this thread and librdkafka's, which inherit it) runs where the
    measured worker does.
    """
    ready, stop = events
    if cpus is not None:
        os.sched_setaffinity(0, cpus)  # this thread only
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"{settings.namespace}.floor",
            "enable.auto.commit": False,
            "socket.nagle.disable": True,
        }
    )
    parts = [ConfluentPartition(topic, p, OFFSET_END) for p in range(settings.partitions)]
    consumer.assign(parts)
    latencies: list[float] = []
    try:
        while not stop.is_set():
            message = consumer.poll(0.05)
            if message is None:
                ready.set()  # assigned and caught up with the (empty) topic
                continue
            now_us = time.time_ns() // 1_000
            for name, value in message.headers() or ():
                if name == RECV_TS_US:
                    latencies.append((now_us - int(value)) / 1000)
    finally:
        consumer.close()
    return latencies


async def measure_floor(  # noqa: PLR0917 - the bench's knobs
    settings: Settings,
    frames: list[Frame],
    rate: int,
    linger_ms: float,
    cpus: set[int] | None,
    compression: str,
) -> dict[str, Any]:
    """Time the broker alone: the paced producer → broker → a bare librdkafka consumer.

    What the box gives before any processing, on a scratch topic while the worker idles; the
    worker's receive → produced latency cannot be lower.
    """
    topic = f"{settings.namespace}.bench.floor"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, settings.partitions, 1)])
    finally:
        await admin.close()
    ready, stop = threading.Event(), threading.Event()
    reading = asyncio.ensure_future(
        asyncio.to_thread(consume_stamps, settings, topic, (ready, stop), cpus)
    )
    await asyncio.to_thread(ready.wait, 30)
    window = frames[: rate * FLOOR_SECONDS]
    progress(f"broker floor: {len(window):,} frames at {rate:,}/s to a bare consumer")
    await produce_paced(settings, window, rate, linger_ms, (topic, topic), compression=compression)
    await asyncio.sleep(1.0)  # the last records reach the consumer
    stop.set()
    latencies = await reading
    return {"frames": len(window), "received": len(latencies), **percentiles(latencies, "ms")}


# ---- the worker ------------------------------------------------------------------------------


async def processed_books(worker: WorkerProcess) -> float:
    """Return the worker's count of processed order-book frames, from its metrics."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(worker.url + "/metrics/") as response,
    ):
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tradestream_book_frames_total{")
    )


async def poll_until(
    check: Callable[[], Awaitable[bool]], every_s: float, timeout_s: float
) -> float:
    """Call ``check`` until it holds; return the monotonic time it first did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return time.monotonic()
        await asyncio.sleep(every_s)
    raise TimeoutError(f"condition not met within {timeout_s}s")


async def lag_zero(settings: Settings, names: Iterable[str]) -> bool:
    """Tell whether the worker's group has committed everything on ``names``."""
    return not any((await group_lag(settings, names)).values())


@dataclass(slots=True)
class CpuWindow:
    """CPU seconds and RSS of one process over a time window, read from /proc."""

    pid: int
    start_cpu_s: float = 0.0
    start_wall_s: float = 0.0
    rss_mb: list[float] = field(default_factory=list)

    def cpu_s(self) -> float:
        """Return the process's user + system CPU seconds so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def sample_rss(self) -> None:
        """Record the current resident set size."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                self.rss_mb.append(int(line.split()[1]) / 1024)

    def start(self) -> None:
        """Open the window."""
        self.start_cpu_s, self.start_wall_s = self.cpu_s(), time.monotonic()
        self.sample_rss()

    def percent(self) -> float:
        """Return CPU use since ``start`` as a percentage of one core."""
        wall = time.monotonic() - self.start_wall_s
        return 100.0 * (self.cpu_s() - self.start_cpu_s) / wall


async def measure_throughput(
    settings: Settings,
    worker: WorkerProcess,
    frames: list[Frame],
    *,
    sinks: bool = True,
    pin_worker: set[int] | None = None,
) -> dict[str, Any]:
    """Start the worker on the full backlog; time first processed frame → lag zero."""
    books = sum(f.book for f in frames)
    worker.start()
    if pin_worker is not None and worker.pid is not None:
        pin_threads(worker.pid, pin_worker)  # before its threads start: they inherit it
    await worker.wait_ready(timeout_s=120)

    async def started() -> bool:
        return await processed_books(worker) > 0

    async def all_books() -> bool:
        return await processed_books(worker) >= books

    first = await poll_until(started, 0.05, 120)
    progress("worker consuming the backlog")
    books_done = await poll_until(all_books, 0.1, BACKLOG_LIMIT_S)
    drained = await poll_until(lambda: lag_zero(settings, _raw_names(settings)), 0.1, 60)
    consumed = topics.WORKER_INPUTS if sinks else topics.MARKET_INPUTS
    every_input = [settings.scoped(t.name) for t in consumed]
    sinks_done = await poll_until(lambda: lag_zero(settings, every_input), 0.5, 120)
    seconds = drained - first
    progress(f"backlog of {len(frames):,} drained in {seconds:.1f}s")
    return {
        "frames": len(frames),
        "book_frames": books,
        "seconds_to_lag_zero": round(seconds, 3),
        "sustained_msgs_per_s": round(len(frames) / seconds),
        "sustained_book_msgs_per_s": round(books / seconds),
        "processed_book_msgs_per_s": round(books / (books_done - first)),
        "seconds_until_sinks_drained": round(sinks_done - first, 3),
    }


async def end_offsets(settings: Settings, names: list[str]) -> dict[TopicPartition, int]:
    """Return the end offset of every partition of ``names``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(n, p) for n in names for p in range(settings.partitions)]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        return ends
    finally:
        await consumer.stop()


async def read_latencies(
    settings: Settings, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> dict[str, list[float]]:
    """Read the records produced in the window; return receive → produced latencies in ms."""
    decoders = {
        settings.scoped(topics.BOOK_TOP.name): ("book_top", book_top_decoder),
        settings.scoped(topics.FEATURES.name): ("features", features_decoder),
    }
    found: dict[str, list[float]] = {"book_top": [], "features": [], "book_top_us": [], "at": []}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        wanted = [tp for tp in start if end[tp] > start[tp]]
        consumer.assign(wanted)
        for tp in wanted:
            consumer.seek(tp, start[tp])
        remaining = {tp: end[tp] for tp in wanted}
        while remaining:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                kind, decoder = decoders[tp.topic]
                for message in messages:
                    _collect(found, kind, decoder, message)
                if remaining.get(tp, 0) <= messages[-1].offset + 1:
                    remaining.pop(tp, None)
    finally:
        await consumer.stop()
    return found


def _collect(found: dict[str, list[float]], kind: str, decoder: Any, message: Any) -> None:
    record = decoder.decode(message.value)
    found[kind].append(float(record.produced_ts_ms - record.recv_ts_ms))
    if kind == "book_top":
        found["at"].append(float(record.recv_ts_ms))
    headers = dict(message.headers or ())
    if kind == "book_top" and RECV_TS_US in headers and PRODUCED_TS_US in headers:
        micros = int(headers[PRODUCED_TS_US]) - int(headers[RECV_TS_US])
        found["book_top_us"].append(micros / 1000)


def by_second(received_ms: list[float], latencies: list[float]) -> list[list[float]]:
    """Return [p50, p99] of the latencies per second of receive time (warm-up vs steady)."""
    if not received_ms:
        return []
    first = min(received_ms)
    seconds: dict[int, list[float]] = {}
    for at, latency in zip(received_ms, latencies, strict=True):
        seconds.setdefault(int((at - first) // 1000), []).append(latency)
    out = []
    for second in sorted(seconds):
        ordered = sorted(seconds[second])
        out.append([ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]])
    return out


def percentiles(values: list[float], prefix: str) -> dict[str, float]:
    """Return p50/p99/p999 and the max of ``values`` under ``prefix``."""
    if not values:
        return {}
    ordered = sorted(values)
    pick = {"p50": 0.50, "p99": 0.99, "p999": 0.999}
    last = len(ordered) - 1
    out = {f"{prefix}_{k}": ordered[min(last, int(len(ordered) * q))] for k, q in pick.items()}
    out[f"{prefix}_max"] = ordered[-1]
    return {k: round(v, 3) for k, v in out.items()}


async def measure_latency(  # noqa: PLR0917 - the bench's knobs
    settings: Settings,
    worker: WorkerProcess,
    frames: list[Frame],
    rate: int,
    seconds: int,
    linger_ms: float,
    compression: str,
    perf_out: Path | None = None,
) -> dict[str, Any]:
    """Pace frames at ``rate`` for ``seconds``; sample the worker; read back the latencies.

    With ``perf_out``, ``perf record -g`` samples the worker's threads over the paced window:
    unlike py-spy it sees inside the mypyc-compiled modules and librdkafka.
    """
    outputs = [settings.scoped(topics.BOOK_TOP.name), settings.scoped(topics.FEATURES.name)]
    start = await end_offsets(settings, outputs)
    window = frames
    if worker.pid is None:
        raise RuntimeError("the worker is not running")
    cpu = CpuWindow(worker.pid)
    cpu.start()

    async def sample() -> None:
        while True:
            await asyncio.sleep(1.0)
            cpu.sample_rss()

    sampler = asyncio.create_task(sample())
    profiler = None if perf_out is None else start_perf(worker.pid, perf_out)
    progress(f"producing {len(window):,} frames at {rate:,}/s")
    took = await produce_paced(settings, window, rate, linger_ms, compression=compression)
    cpu_percent = cpu.percent()
    sampler.cancel()
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        await asyncio.to_thread(profiler.wait, 60)
    try:
        await poll_until(lambda: lag_zero(settings, _raw_names(settings)), 0.25, DRAIN_LIMIT_S)
        kept_up = True
    except TimeoutError:
        kept_up = False  # latencies below are of what was processed, queueing included
    end = await end_offsets(settings, outputs)
    found = await read_latencies(settings, start, end)
    return {
        "rate_msgs_per_s": round(len(window) / took),
        "drained_within_limit": kept_up,
        "seconds": round(took, 2),
        "book_tops": len(found["book_top"]),
        "features": len(found["features"]),
        **percentiles(found["book_top"], "latency_ms"),
        **percentiles(found["book_top_us"], "latency_us_res_ms"),
        "latency_ms_p50_p99_by_second": by_second(found["at"], found["book_top"]),
        **percentiles(found["features"], "features_latency_ms"),
        "cpu_percent": round(cpu_percent, 1),
        "rss_mb": round(max(cpu.rss_mb), 1),
    }


def start_perf(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Start sampling ``pid``'s threads with call graphs (``perf``; stop it with SIGINT)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["perf", "record", "-g", "-F", "999", "-p", str(pid), "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def pin_threads(pid: int, cpus: set[int]) -> None:
    """Set the CPU affinity of every thread of ``pid`` (new threads inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except (ProcessLookupError, FileNotFoundError):
            continue  # the thread ended meanwhile


def broker_pid() -> int:
    """Return the local broker's process id (``scripts/stack.sh`` keeps it)."""
    return int((ROOT / ".stack" / "kafka" / "kafka.pid").read_text().split()[0])


# ---- the run ---------------------------------------------------------------------------------


async def clean_up(settings: Settings) -> None:
    """Delete the namespace's topics, ClickHouse database, DLQ stream and Faust data dir."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{settings.namespace}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
    sink = ClickHouseSink(settings)
    try:
        sink.query(f"DROP DATABASE IF EXISTS {sink.database}")
    finally:
        sink.close()
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    await redis.delete(settings.dlq_stream)
    await redis.aclose()
    for app_id in (settings.group_id, f"{settings.group_id}.status"):
        shutil.rmtree(settings.faust_data_dir / f"{app_id}-data", ignore_errors=True)


async def run(args: argparse.Namespace, frames: list[Frame]) -> dict[str, Any]:
    """Run both measurements on a fresh namespace and clean it up."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    roles = ("market",) if args.sinks == "none" else ("market", "sinks")
    settings = Settings(namespace=namespace, partitions=8, web_port=free_port(), roles=roles)
    log = ROOT / ".stack" / "logs" / f"bench-worker-{settings.namespace}.log"
    env = {
        "TRADESTREAM_NAMESPACE": settings.namespace,
        "TRADESTREAM_PARTITIONS": str(settings.partitions),
        "TRADESTREAM_CONFIG_DIR": str(ROOT / "config"),
    }
    flags: tuple[str, ...] = ()
    if args.variant == "compiled":
        # The deployed build: the mypyc-compiled hot path first on the path, cwd not on it.
        env["PYTHONPATH"] = str(harness.BUILD)
        flags = ("-P",)
    worker = WorkerProcess(settings.web_port, log, env=env, python_flags=flags)
    sinks = None
    market_env = {**env, "TRADESTREAM_ROLES": "market"}
    if args.sinks == "none":
        # The market engine alone: what the market path costs without the sinks' share.
        worker = WorkerProcess(settings.web_port, log, env=market_env, python_flags=flags)
    if args.sinks == "separate":
        # The sink agents in a worker of their own; the measured worker runs the market role only.
        worker = WorkerProcess(settings.web_port, log, env=market_env, python_flags=flags)
        sinks_env = {**env, "TRADESTREAM_ROLES": "sinks"}
        sinks = WorkerProcess(free_port(), log.with_suffix(".sinks.log"), env=sinks_env)
    every = os.sched_getaffinity(0)
    pin_worker: set[int] | None = None
    try:
        await ensure_topics(settings)
        # The paced window continues the stream where the backlog ends (u, seq and time go on).
        paced = args.rate * args.seconds
        backlog, window = frames[: max(len(frames) - paced, paced)], frames[-paced:]
        await produce_all(settings, backlog)
        if sinks is not None:
            sinks.start()
        if args.pin:
            # The measured worker gets the last CPU; the broker, this process (the load
            # generator) and any sink worker share the others.
            pin_worker, rest = {max(every)}, every - {max(every)}
            pin_threads(os.getpid(), rest)
            pin_threads(broker_pid(), rest)
            if sinks is not None and sinks.pid is not None:
                pin_threads(sinks.pid, rest)
        throughput = await measure_throughput(
            settings, worker, backlog, sinks=args.sinks != "none", pin_worker=pin_worker
        )
        floor = await measure_floor(
            settings,
            window,
            args.rate,
            args.generator_linger_ms,
            pin_worker,
            args.generator_compression,
        )
        latency = await measure_latency(
            settings,
            worker,
            window,
            args.rate,
            args.seconds,
            args.generator_linger_ms,
            args.generator_compression,
            args.perf,
        )
    finally:
        if args.pin:
            pin_threads(broker_pid(), every)
        await asyncio.to_thread(worker.stop)
        if sinks is not None:
            await asyncio.to_thread(sinks.stop)
        await clean_up(settings)
    secret = {"clickhouse_password", "postgres_dsn", "redis_url"}
    secret_free = settings.model_dump(mode="json", exclude=secret)
    return {
        "throughput": throughput,
        "latency": latency,
        "broker_floor": floor,
        "sinks": args.sinks,
        "worker_settings": secret_free,
    }


def main() -> None:
    """Record or load the stream, run the measurements, write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--loops", type=int, default=12, help="replays of the 44 s recording")
    parser.add_argument("--rate", type=int, default=10_000, help="paced msgs/s for latency")
    parser.add_argument("--seconds", type=int, default=20, help="length of the paced window")
    parser.add_argument("--frames", type=int, default=0, help="use only the first N (0: all)")
    parser.add_argument(
        "--sinks",
        choices=("same", "separate", "none"),
        default="separate",
        help="sink agents in a second worker (as deployed: docker-compose.yml), in the measured "
        "worker, or not at all",
    )
    parser.add_argument(
        "--generator-linger-ms",
        type=float,
        default=1.0,
        help="the paced load generator's linger (librdkafka linger.ms)",
    )
    parser.add_argument(
        "--generator-compression",
        choices=("zstd", "lz4", "none"),
        default="lz4",
        help="the paced load generator's compression (lz4: as ingest produces the raw topics)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="give the measured worker a CPU of its own (the broker, the load generator and "
        "the sink worker share the rest), as a deployment with the broker elsewhere would",
    )
    parser.add_argument("--regenerate", action="store_true", help="record the stream again")
    parser.add_argument(
        "--variant",
        choices=("compiled", "interpreted"),
        default="compiled",
        help="the worker on the mypyc-compiled hot path (as deployed; `make compiled`) or not",
    )
    parser.add_argument(
        "--recorded-timestamps",
        action="store_true",
        help="keep the recording's timestamps instead of stamping the stream as a live feed "
        "at --rate (a feature vector on nearly every book update)",
    )
    parser.add_argument(
        "--perf",
        type=Path,
        default=None,
        help="also record the worker's native profile over the paced window to this perf.data "
        "(`perf report -i PATH`)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    args = parser.parse_args()
    began = time.monotonic()
    if args.variant == "compiled" and not (harness.BUILD / ".built").exists():
        sys.exit(f"{harness.BUILD} is not built: run `make compiled`")
    stamp_rate = 0 if args.recorded_timestamps else args.rate
    frames = load_stream(args.symbols, args.loops, args.regenerate, stamp_rate)
    frames = frames[: args.frames] if args.frames else frames
    load_before = os.getloadavg()
    # SIGTERM (e.g. ``timeout``) stops the run like Ctrl-C, so the namespace is still cleaned up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    measured = asyncio.run(run(args, frames))
    throughput, latency = measured["throughput"], measured["latency"]
    results = {
        "commit": harness.commit(),
        "symbols": args.symbols,
        "levels": LEVELS,
        "variant": args.variant,
        "timestamps": "recorded" if args.recorded_timestamps else f"live feed at {args.rate}/s",
        "sustained_msgs_per_s": throughput["sustained_msgs_per_s"],
        "paced_rate_msgs_per_s": args.rate,
        "generator": {
            "linger_ms": args.generator_linger_ms,
            "compression": args.generator_compression,
        },
        "p50_ms_at_10k": latency.get("latency_ms_p50"),
        "p99_ms_at_10k": latency.get("latency_ms_p99"),
        "p999_ms_at_10k": latency.get("latency_ms_p999"),
        "broker_floor_p50_ms": measured["broker_floor"].get("ms_p50"),
        "broker_floor_p99_ms": measured["broker_floor"].get("ms_p99"),
        "cpu_percent_at_10k": latency["cpu_percent"],
        "rss_mb": latency["rss_mb"],
        **measured,
        "cpus": os.cpu_count(),
        "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "bench_seconds": round(time.monotonic() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
