"""Benchmark ingest: simulator → ``tradestream ingest`` → Kafka, 100 symbols, rate stepped up.

Each step starts a fresh simulator (synthetic source shaped like the recording) and a fresh
ingest process in its own namespace, lets it warm up, then measures over a window: frames the
simulator sent, frames ingest produced (acknowledged by Kafka), ingest CPU (% of one core) and RSS,
and Kafka produce latency (socket read → broker ack) p50/p99. The rate steps up until ingest
falls behind (produces < 97 % of what was sent). Also measured in process, per recorded
``orderbook.200`` frame: what our client does per frame against what pybit's public WebSocket
does (apply to its list book, deep copy) before a callback sees anything.

Writes ``bench/results/ingest.json``. Needs the local stack (``tradestream stack up``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka.admin import AIOKafkaAdminClient
from harness import ROOT, commit, environment, recorded_frames, write_report

from tradestream.schemas.bybit import symbol_of_topic, topic_decoder

RECORDING = (
    ROOT
    / "tests/fixtures/bybit/BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Return a TCP port free on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """Return user+system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Return the resident set size of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def get_json(url: str) -> Any:
    """GET a JSON document."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(url) as response:
            return await response.json(content_type=None)


async def wait_for(probe: Any, timeout: float, what: str) -> Any:
    """Poll an async probe until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, OSError, KeyError, TypeError):
            value = await probe()
            if value:
                return value
        await asyncio.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def write_config(directory: Path, symbols: list[str]) -> None:
    """Write a config dir subscribing ``symbols`` (depth 200) and the project's other files."""
    lines = ["symbols:"] + [f"  - {{symbol: {s}, book_depth: 200}}" for s in symbols]
    (directory / "symbols.yaml").write_text("\n".join(lines) + "\n")
    for name in ("strategies.yaml", "risk.yaml"):
        shutil.copy(ROOT / "config" / name, directory / name)


class Step:
    """One rate step: a simulator and an ingest process, measured over a window."""

    def __init__(self, rate: int, symbols: int, window_s: float) -> None:
        self.rate = rate
        self.symbols = symbols
        self.window_s = window_s
        self.namespace = f"bi{uuid.uuid4().hex[:8]}"
        self.sim_port = free_port()
        self.health_port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = ROOT / ".stack" / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, args: list[str], log: str, env: dict[str, str] | None = None) -> int:
        out = (self.logs / log).open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "tradestream.cli.main", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        self.procs.append(proc)
        return proc.pid

    async def run(self) -> dict[str, Any]:
        """Run the step and return its measurements."""
        admin = f"http://127.0.0.1:{self.sim_port}/admin/stats"
        self._spawn(
            [
                "simulate",
                "--source",
                "synthetic",
                "--recording",
                str(RECORDING),
                "--symbols",
                str(self.symbols),
                "--rate",
                str(self.rate),
                "--port",
                str(self.sim_port),
            ],
            f"bench-ingest-sim-{self.rate}.log",
        )
        stats = await wait_for(lambda: get_json(admin), 30, "simulator")
        symbols = list(stats["source"]["symbols"])
        with tempfile.TemporaryDirectory() as config_dir:
            write_config(Path(config_dir), symbols)
            pid = self._spawn(
                [
                    "ingest",
                    "--url",
                    f"ws://127.0.0.1:{self.sim_port}/v5/public/linear",
                    "--health-port",
                    str(self.health_port),
                ],
                f"bench-ingest-{self.rate}.log",
                env={"TRADESTREAM_NAMESPACE": self.namespace, "TRADESTREAM_CONFIG_DIR": config_dir},
            )
            health = f"http://127.0.0.1:{self.health_port}/health"

            async def connected() -> bool:
                body = await get_json(health)
                return all(c["connected"] for c in body["connections"])

            await wait_for(connected, 60, "ingest connected")
            await asyncio.sleep(3.0)
            return await self._measure(pid, admin, health)

    async def _measure(self, pid: int, admin: str, health: str) -> dict[str, Any]:
        sent0 = (await get_json(admin))["totals"]["frames_sent"]
        produced0 = (await get_json(health))["produced"]
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(self.window_s)
        sent1 = (await get_json(admin))["totals"]["frames_sent"]
        body = await get_json(health)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        elapsed = t1 - t0
        sent_rate = (sent1 - sent0) / elapsed
        produced_rate = (body["produced"] - produced0) / elapsed
        return {
            "target_msgs_per_s": self.rate,
            "sent_msgs_per_s": round(sent_rate),
            "produced_msgs_per_s": round(produced_rate),
            "kept_up": produced_rate >= 0.97 * sent_rate and sent_rate >= 0.9 * self.rate,
            "simulator_kept_up": sent_rate >= 0.9 * self.rate,
            "cpu_percent": round(100 * (cpu1 - cpu0) / elapsed, 1),
            "rss_mb": round(rss_mb(pid), 1),
            "produce_latency_ms": body["produce_latency_ms"],
        }

    async def stop(self, bootstrap: str) -> None:
        """Stop both processes and delete the step's topics."""
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        client = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await client.start()
        try:
            mine = [t for t in await client.list_topics() if t.startswith(self.namespace + ".")]
            if mine:
                await client.delete_topics(mine)
        finally:
            await client.close()


def per_frame_costs(repeats: int = 5) -> dict[str, float]:
    """Time, per recorded orderbook.200 frame, our client's work against pybit's."""
    from pybit._websocket_stream import _V5WebSocketManager  # noqa: PLC0415 - optional peer

    frames = recorded_frames()
    texts = [f.decode() for f in frames]

    def ours() -> float:
        queue: list[tuple[bytes, int, str]] = []
        started = time.perf_counter_ns()
        for raw in frames:
            symbol_of_topic(topic_decoder.decode(raw).topic)
            queue.append((raw, 0, "ws0"))
        return (time.perf_counter_ns() - started) / len(frames) / 1e3

    def pybit() -> float:
        manager = object.__new__(_V5WebSocketManager)
        manager.data = {}
        seen: list[object] = []
        topics = {json.loads(t)["topic"] for t in texts}
        manager.callback_directory = dict.fromkeys(topics, seen.append)
        started = time.perf_counter_ns()
        for text in texts:
            manager._process_normal_message(json.loads(text))
        return (time.perf_counter_ns() - started) / len(texts) / 1e3

    return {
        "ours_us_per_frame": round(min(ours() for _ in range(repeats)), 2),
        "pybit_us_per_frame": round(min(pybit() for _ in range(repeats)), 2),
    }


async def main() -> None:
    """Step the rate up until ingest falls behind; write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--rates", default="5000,10000,20000,30000,40000")
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    bootstrap = os.environ.get("TRADESTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    steps = []
    for rate in (int(r) for r in args.rates.split(",")):
        step = Step(rate, args.symbols, args.window)
        print(f"ingest bench: {rate:,} msgs/s over {args.symbols} symbols...", flush=True)
        try:
            result = await step.run()
        finally:
            await step.stop(bootstrap)
        print(
            f"  sent {result['sent_msgs_per_s']:,}/s produced {result['produced_msgs_per_s']:,}/s"
            f" cpu {result['cpu_percent']}% rss {result['rss_mb']} MiB"
            f" produce p50/p99 {result['produce_latency_ms']['p50']}/"
            f"{result['produce_latency_ms']['p99']} ms",
            flush=True,
        )
        steps.append(result)
        if not result["kept_up"]:
            break
    kept = [s for s in steps if s["kept_up"]] or steps[:1]
    best = max(kept, key=lambda s: s["produced_msgs_per_s"])
    costs = per_frame_costs()
    print(
        f"per frame: ours {costs['ours_us_per_frame']} µs, pybit {costs['pybit_us_per_frame']} µs"
    )
    write_report(
        "ingest",
        {
            "sustained_msgs_per_s": best["produced_msgs_per_s"],
            "cpu_percent": best["cpu_percent"],
            "rss_mb": best["rss_mb"],
            "produce_p50_ms": best["produce_latency_ms"]["p50"],
            "produce_p99_ms": best["produce_latency_ms"]["p99"],
            "symbols": args.symbols,
            "commit": commit(),
            "limited_by": "ingest"
            if not steps[-1]["kept_up"] and steps[-1]["simulator_kept_up"]
            else "simulator or last step",
            "per_frame": costs,
            "steps": steps,
            "environment": environment(),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
