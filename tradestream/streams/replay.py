"""Replay recorded Bybit frames (gzip NDJSON) onto the raw topics, unchanged and keyed by symbol.

Several files are merged by the frames' exchange time ``ts`` so that separately recorded topics
interleave as they happened. Pacing follows the recording (``speed`` = 1), a multiple of it, or
none at all (``speed`` = None). Frames that cannot be routed go to the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import gzip
import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaProducer

from tradestream.config.settings import Settings
from tradestream.schemas.bybit import symbol_of_topic
from tradestream.sinks.dead_letters import DeadLetter, DeadLetterQueue
from tradestream.streams.producer import RECV_TS_HEADER, SOURCE_HEADER, timestamp_header
from tradestream.streams.topics import raw_topic_for


class _Probe(msgspec.Struct):
    topic: str
    ts: int = 0


_probe = msgspec.json.Decoder(_Probe)


@dataclass(slots=True)
class RecordedFrame:
    """One line of a recording with what routing needs."""

    raw: bytes
    source: str
    topic: str | None
    ts: int
    error: str | None = None


@dataclass
class ReplaySummary:
    """What a replay sent, per Kafka topic, and what it dead-lettered."""

    sent: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Count every frame sent to Kafka."""
        return sum(self.sent.values())


def read_recording(path: Path) -> Iterator[RecordedFrame]:
    """Yield the frames of one gzip NDJSON file in recorded order."""
    source = f"replay:{path.name}"
    with gzip.open(path, "rb") as lines:
        for line in lines:
            raw = line.rstrip(b"\r\n")
            if not raw:
                continue
            try:
                probe = _probe.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                yield RecordedFrame(raw, source, None, 0, f"undecodable frame: {exc}")
                continue
            yield RecordedFrame(raw, source, probe.topic, probe.ts)


def merge_recordings(paths: Iterable[Path]) -> Iterator[RecordedFrame]:
    """Interleave several recordings by exchange time, keeping each file's own order."""
    return heapq.merge(*(read_recording(p) for p in paths), key=lambda f: f.ts)


class Pacer:
    """Sleep so that frames leave at the recording's pace divided by ``speed``."""

    def __init__(self, speed: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._speed = speed
        self._clock = clock
        self._origin: tuple[int, float] | None = None

    async def wait_for(self, ts_ms: int) -> None:
        """Return when the frame stamped ``ts_ms`` is due."""
        if self._speed is None or ts_ms <= 0:
            return
        if self._origin is None:
            self._origin = (ts_ms, self._clock())
            return
        first_ts, started = self._origin
        due = started + (ts_ms - first_ts) / 1000.0 / self._speed
        delay = due - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)


class Replayer:
    """Send recorded frames to Kafka and dead-letter what cannot be routed."""

    def __init__(
        self,
        settings: Settings,
        producer: AIOKafkaProducer,
        dead_letters: DeadLetterQueue,
        progress: Callable[[ReplaySummary], None] | None = None,
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._dead_letters = dead_letters
        self._progress = progress

    async def run(self, frames: Iterable[RecordedFrame], speed: float | None) -> ReplaySummary:
        """Replay ``frames`` and wait until Kafka has acknowledged every one."""
        summary = ReplaySummary()
        pacer = Pacer(speed)
        started = last_report = time.monotonic()
        pending: list[asyncio.Future[object]] = []
        for frame in frames:
            await pacer.wait_for(frame.ts)
            future = await self._send(frame, summary)
            if future is not None:
                pending.append(future)
            if len(pending) >= 5000:
                await self._settle(pending)
            now = time.monotonic()
            if self._progress is not None and now - last_report >= 1.0:
                summary.seconds = now - started
                self._progress(summary)
                last_report = now
        await self._producer.flush()
        await self._settle(pending)
        summary.seconds = time.monotonic() - started
        return summary

    async def _send(
        self, frame: RecordedFrame, summary: ReplaySummary
    ) -> asyncio.Future[object] | None:
        spec = raw_topic_for(frame.topic) if frame.topic is not None else None
        if spec is None or frame.topic is None:
            reason = frame.error or f"no raw topic carries Bybit topic {frame.topic!r}"
            await self._dead_letters.send(
                DeadLetter(frame.raw, frame.source, reason, int(time.time() * 1000))
            )
            summary.dead_lettered += 1
            return None
        topic = self._settings.scoped(spec.name)
        headers = [
            timestamp_header(RECV_TS_HEADER, int(time.time() * 1000)),
            (SOURCE_HEADER, frame.source.encode()),
        ]
        future: asyncio.Future[object] = await self._producer.send(
            topic, value=frame.raw, key=symbol_of_topic(frame.topic).encode(), headers=headers
        )
        summary.sent[topic] += 1
        return future

    @staticmethod
    async def _settle(pending: list[asyncio.Future[object]]) -> None:
        # Raise the first delivery failure: a replay that lost a frame must not report success.
        await asyncio.gather(*pending)
        pending.clear()
