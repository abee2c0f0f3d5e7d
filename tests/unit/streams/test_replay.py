"""Replay: reading, merging, routing and pacing recorded frames (no broker here)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.recordings import ALL_TOPICS as ALL_TOPICS_FILE
from tests.support.recordings import OB200, TRADES
from tradestream.streams.replay import Pacer, merge_recordings, read_recording
from tradestream.streams.topics import ALL_TOPICS, raw_topic_for


def test_recording_is_read_unchanged() -> None:
    frames = list(read_recording(ALL_TOPICS_FILE))
    assert len(frames) == 2529
    with gzip.open(ALL_TOPICS_FILE, "rb") as f:
        assert frames[0].raw == f.readline().rstrip(b"\n")
    assert all(f.error is None for f in frames)


def test_merging_files_keeps_each_files_order_and_interleaves() -> None:
    merged = list(merge_recordings([OB200, TRADES]))
    assert len(merged) == 1598 + 102
    for path in (OB200, TRADES):
        own = [f.raw for f in merged if f.source == f"replay:{path.name}"]
        assert own == [f.raw for f in read_recording(path)]
    sources = [f.source for f in merged]
    first_trade = sources.index(f"replay:{TRADES.name}")
    assert 0 < first_trade < sources.index(f"replay:{OB200.name}", first_trade + 1) + 1


def test_bad_lines_are_flagged_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson.gz"
    with gzip.open(path, "wb") as f:
        f.write(b'{"topic":"orderbook.1.X","ts":5}\nnot json\n\n{"ts":1}\n')
    frames = list(read_recording(path))
    assert [f.error is None for f in frames] == [True, False, False]


@pytest.mark.parametrize(
    ("bybit_topic", "kafka_topic"),
    [
        ("orderbook.200.BTCUSDT", "md.orderbook.raw"),
        ("publicTrade.ETHUSDT", "md.trades.raw"),
        ("tickers.SOLUSDT", "md.tickers.raw"),
        ("kline.1.DOGEUSDT", "md.klines.raw"),
        ("liquidation.BTCUSDT", None),
    ],
)
def test_raw_topic_routing(bybit_topic: str, kafka_topic: str | None) -> None:
    spec = raw_topic_for(bybit_topic)
    assert (spec.name if spec else None) == kafka_topic


def test_topic_names_are_unique() -> None:
    names = [t.name for t in ALL_TOPICS]
    assert len(names) == len(set(names))


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> Callable[[], float]:
        return lambda: self.now


async def test_pacer_follows_recorded_time_scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTime()

    async def fake_sleep(seconds: float) -> None:
        fake.slept.append(seconds)
        fake.now += seconds

    monkeypatch.setattr("tradestream.streams.replay.asyncio.sleep", fake_sleep)
    pacer = Pacer(speed=2.0, clock=fake.clock())
    for ts in (1000, 1000, 2000, 5000):
        await pacer.wait_for(ts)
    assert fake.slept == pytest.approx([0.5, 1.5])


async def test_pacer_at_max_speed_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    async def forbidden(seconds: float) -> None:
        raise AssertionError("slept")

    monkeypatch.setattr("tradestream.streams.replay.asyncio.sleep", forbidden)
    pacer = Pacer(speed=None)
    for ts in (1, 10_000, 99_999):
        await pacer.wait_for(ts)
