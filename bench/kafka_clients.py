"""Compare Kafka consumer clients at a paced rate: CPU of the consuming process and latency.

Why the market engine consumes with librdkafka (``confluent-kafka``) and not aiokafka: at
10,000 records/s the fetches are small and frequent, and what a client spends per fetch, not per
record, decides its CPU. ``pipeline.py``'s librdkafka load generator paces recorded frames
(the 4-symbol recording, as bytes) at ``--rate`` for ``--seconds`` to a scratch topic of 8
partitions, each stamped with its produce time (µs header); a child process consumes them with
one client, doing nothing but read each record's value and header, and reports its CPU (of one
core) and produce → consumed latency. One client per run, the same stream for each.

Usage: ``.venv/bin/python bench/kafka_clients.py [--rate N] [--seconds N]``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing as mp
import resource
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import harness
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AIOTopicPartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from pipeline import RECV_TS_US, Frame, find_recording, percentiles, produce_paced

from tradestream.config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PARTITIONS = 8


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _latency_ms(headers: Any) -> float | None:
    for name, value in headers or ():
        if name == RECV_TS_US:
            return (time.time_ns() // 1000 - int(value)) / 1000
    return None


def consume_librdkafka(bootstrap: str, topic: str, expected: int, pipe: Connection) -> None:
    """Read ``expected`` records with confluent-kafka: poll, then take what is prefetched."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}.rd",
            "enable.auto.commit": False,
            "socket.nagle.disable": True,
        }
    )
    # A fresh topic: read it from the start (the producer's warm-up record has no stamp).
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    consumer.poll(0.5)  # connect before the producer starts
    pipe.send("ready")
    latencies: list[float] = []
    start = _cpu_s()
    began = time.monotonic()
    fetches = 0
    while len(latencies) < expected and time.monotonic() - began < 120:
        first = consumer.poll(0.5)
        if first is None:
            continue
        fetches += 1
        for message in (first, *consumer.consume(1999, 0)):
            message.value()
            latency = _latency_ms(message.headers())
            if latency is not None:
                latencies.append(latency)
    consumer.close()
    pipe.send((latencies, _cpu_s() - start, time.monotonic() - began, fetches))


def consume_aiokafka(bootstrap: str, topic: str, expected: int, pipe: Connection) -> None:
    """Read ``expected`` records with aiokafka's ``getmany``."""

    async def run() -> tuple[list[float], float, float, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        parts = [AIOTopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)  # a fresh topic, as above
        for tp in parts:
            await consumer.position(tp)
        pipe.send("ready")
        latencies: list[float] = []
        start = _cpu_s()
        began = time.monotonic()
        fetches = 0
        try:
            while len(latencies) < expected and time.monotonic() - began < 120:
                fetched = await consumer.getmany(timeout_ms=500, max_records=2000)
                fetches += bool(fetched)
                for records in fetched.values():
                    for record in records:
                        latency = _latency_ms(record.headers)
                        if latency is not None:
                            latencies.append(latency)
        finally:
            await consumer.stop()
        return latencies, _cpu_s() - start, time.monotonic() - began, fetches

    pipe.send(asyncio.run(run()))


CLIENTS = {"librdkafka": consume_librdkafka, "aiokafka": consume_aiokafka}


def measure(client: str, settings: Settings, frames: list[Frame], rate: int) -> dict[str, Any]:
    """Run one client against a fresh topic; return its CPU and latency.

    The frames are paced by ``pipeline.produce_paced`` (linger 1 ms, as in ``pipeline.py``);
    its first frame, sent before the clock starts to connect, carries no stamp.
    """
    bootstrap = settings.kafka_bootstrap
    topic = f"bench.clients.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    ours, theirs = mp.Pipe()
    child = mp.get_context("spawn").Process(
        target=CLIENTS[client], args=(bootstrap, topic, len(frames) - 1, theirs)
    )
    child.start()
    try:
        if not ours.poll(60) or ours.recv() != "ready":
            raise RuntimeError(f"{client} consumer did not start")
        paced = produce_paced(settings, frames, rate, 1.0, (topic, topic), compression="lz4")
        seconds = asyncio.run(paced)
        if not ours.poll(180):
            raise RuntimeError(f"{client} consumer did not finish")
        latencies, cpu_s, wall_s, fetches = ours.recv()
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
        admin.delete_topics([topic])
    return {
        "records": len(latencies),
        "rate_msgs_per_s": round(len(frames) / seconds),
        "cpu_percent": round(100 * cpu_s / wall_s, 1),
        "cpu_us_per_record": round(1e6 * cpu_s / max(len(latencies), 1), 2),
        "records_per_fetch": round(len(latencies) / max(fetches, 1), 1),
        **percentiles(latencies, "latency_ms"),
    }


def main() -> None:
    """Measure each client in turn and write ``bench/results/kafka_clients.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "kafka_clients.json"
    )
    args = parser.parse_args()
    lines = gzip.decompress(find_recording().read_bytes()).splitlines()
    count = args.rate * args.seconds
    frames = [
        Frame(book=True, key=b"%d" % (i % 100), raw=lines[i % len(lines)]) for i in range(count)
    ]
    settings = Settings(kafka_bootstrap=args.bootstrap)
    results: dict[str, Any] = {
        "commit": harness.commit(),
        "rate": args.rate,
        "seconds": args.seconds,
    }
    for client in CLIENTS:
        print(f"[kafka_clients] {client}: {count:,} records at {args.rate:,}/s", flush=True)
        results[client] = measure(client, settings, frames, args.rate)
        print(f"[kafka_clients] {client}: {results[client]}", flush=True)
    results["environment"] = harness.environment()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
