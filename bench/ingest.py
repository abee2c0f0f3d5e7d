"""Benchmark ingest: simulator → ``tradestream ingest`` → Kafka, 100 symbols, rate stepped up.

Each step starts a fresh simulator replaying the recording over ``--symbols`` symbols at the
speed that gives the step's target rate (``--source synthetic`` paces a synthetic source instead;
it tops out near 19k msgs/s) and a fresh ingest process in its own namespace, lets it warm up,
then measures over a window: frames the simulator sent, frames ingest produced (acknowledged by
Kafka), CPU (% of one core) and RSS of both processes, and Kafka produce latency (socket read →
broker ack) p50/p99 over the window. Stepping stops when ingest falls behind (produces < 97 % of
what was sent) or the simulator misses the target by more than 10 %; the report says which
limited it (a simulator held back by full send backlogs counts as ingest pushing back). Also
measured in process, per recorded ``orderbook.200`` frame: what our client does per frame
against what pybit's public WebSocket does (apply to its list book, deep copy) before a callback
sees anything.

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
from tradestream.simulator.recording import load_recording
from tradestream.simulator.replay import PUSH_INTERVAL_MS

RECORDING = (
    ROOT
    / "tests/fixtures/bybit/BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
BACKLOG_LIMIT = 5000
"""Frames a simulator connection queues before its source waits (``--backlog-limit``)."""


def replay_rate(symbols: int) -> float:
    """Return the frames/s the recording replays at speed 1 when spread over ``symbols``."""
    recording = load_recording([RECORDING])
    base = recording.symbols
    served = [base[i % len(base)] for i in range(symbols)]
    per_loop = sum(served.count(frame.symbol) for frame in recording.frames)
    return per_loop / ((recording.duration_ms + PUSH_INTERVAL_MS) / 1000)


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
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        return await response.json(content_type=None)


async def wait_for(probe: Any, within: float, what: str) -> Any:
    """Poll an async probe until it returns something truthy."""
    deadline = time.monotonic() + within
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

    def __init__(self, rate: int, args: argparse.Namespace, speed: float) -> None:
        self.rate = rate
        self.symbols = args.symbols
        self.window_s = args.window
        self.source = args.source
        self.speed = speed
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

    def _simulator_args(self) -> list[str]:
        pace = ["--speed", f"{self.speed:.4f}"] if self.source == "replay" else []
        pace = pace or ["--rate", str(self.rate)]
        return [
            "simulate",
            "--source",
            self.source,
            "--recording",
            str(RECORDING),
            "--symbols",
            str(self.symbols),
            *pace,
            "--backlog-limit",
            str(BACKLOG_LIMIT),
            "--port",
            str(self.sim_port),
        ]

    async def run(self) -> dict[str, Any]:
        """Run the step and return its measurements."""
        admin = f"http://127.0.0.1:{self.sim_port}/admin/stats"
        sim_pid = self._spawn(self._simulator_args(), f"bench-ingest-sim-{self.rate}.log")
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
            return await self._measure(pid, sim_pid, admin, health)

    async def _measure(self, pid: int, sim_pid: int, admin: str, health: str) -> dict[str, Any]:
        sent0 = (await get_json(admin))["totals"]["frames_sent"]
        produced0 = (await get_json(health))["produced"]
        cpu0, sim_cpu0, t0 = cpu_seconds(pid), cpu_seconds(sim_pid), time.monotonic()
        backlog = await self._max_backlog(admin, t0 + self.window_s)
        sent1 = (await get_json(admin))["totals"]["frames_sent"]
        body = await get_json(health)
        cpu1, sim_cpu1, t1 = cpu_seconds(pid), cpu_seconds(sim_pid), time.monotonic()
        elapsed = t1 - t0
        sent_rate = (sent1 - sent0) / elapsed
        produced_rate = (body["produced"] - produced0) / elapsed
        return {
            "target_msgs_per_s": self.rate,
            "speed": round(self.speed, 3) if self.source == "replay" else None,
            "sent_msgs_per_s": round(sent_rate),
            "produced_msgs_per_s": round(produced_rate),
            "ingest_kept_up": produced_rate >= 0.97 * sent_rate,
            "simulator_reached_target": sent_rate >= 0.9 * self.rate,
            "simulator_backlog_max": backlog,
            "cpu_percent": round(100 * (cpu1 - cpu0) / elapsed, 1),
            "rss_mb": round(rss_mb(pid), 1),
            "simulator_cpu_percent": round(100 * (sim_cpu1 - sim_cpu0) / elapsed, 1),
            "produce_latency_ms": body["produce_latency_ms"],
        }

    @staticmethod
    async def _max_backlog(admin: str, until: float) -> int:
        # Sample the simulator's per-connection send backlog once a second over the window.
        worst = 0
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(1.0, left))
            connections = (await get_json(admin))["connections"]
            worst = max([worst, *(c["backlog"] for c in connections)])
        return worst

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


def limited_by(step: dict[str, Any]) -> str | None:
    """Say what stopped a step from keeping up: ingest, the simulator, or nothing (None)."""
    if not step["ingest_kept_up"]:
        return "ingest (produced < 97% of sent)"
    if step["simulator_reached_target"]:
        return None
    if step["simulator_backlog_max"] >= BACKLOG_LIMIT // 2:
        return "ingest (back-pressure: simulator send backlogs filled, so it sent less)"
    return "simulator (could not send the target rate)"


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


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--rates", default="5000,10000,20000,30000,40000")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--source", choices=("replay", "synthetic"), default="replay")
    return parser.parse_args()


async def run_steps(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Step the rate up until ingest or the simulator falls short; return every step."""
    bootstrap = os.environ.get("TRADESTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    base_rate = replay_rate(args.symbols)
    steps = []
    for rate in (int(r) for r in args.rates.split(",")):
        step = Step(rate, args, speed=rate / base_rate)
        print(f"ingest bench: {rate:,} msgs/s over {args.symbols} symbols...", flush=True)
        try:
            result = await step.run()
        finally:
            await step.stop(bootstrap)
        result["limited_by"] = limited_by(result)
        latency = result["produce_latency_ms"]
        print(
            f"  sent {result['sent_msgs_per_s']:,}/s produced {result['produced_msgs_per_s']:,}/s"
            f" cpu {result['cpu_percent']}% rss {result['rss_mb']} MiB"
            f" produce p50/p99 {latency['p50']}/{latency['p99']} ms"
            f" (simulator cpu {result['simulator_cpu_percent']}%,"
            f" backlog max {result['simulator_backlog_max']})"
            + (f" — limited by {result['limited_by']}" if result["limited_by"] else ""),
            flush=True,
        )
        steps.append(result)
        if result["limited_by"]:
            break
    return steps


async def main() -> None:
    """Run the rate steps and the per-frame comparison; write the report."""
    args = parse_args()
    steps = await run_steps(args)
    kept = [s for s in steps if s["limited_by"] is None] or steps[:1]
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
            "source": args.source,
            "commit": commit(),
            "limited_by": steps[-1]["limited_by"] or "not reached (last step kept up)",
            "per_frame": costs,
            "steps": steps,
            "environment": environment(),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
