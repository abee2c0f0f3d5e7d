"""WindowedSums: eviction at the window edge, agreement with brute force, growth and rebasing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.features.ring import WindowedSums


def brute_force(
    events: list[tuple[int, list[float]]], now: int, window: int, channels: int
) -> tuple[int, list[float]]:
    inside = [values for ts, values in events if now - window < ts <= now]
    return len(inside), [math.fsum(v[c] for v in inside) for c in range(channels)]


def test_window_keeps_events_strictly_after_now_minus_window() -> None:
    ring = WindowedSums((1_000,), 1)
    ring.push(0, [1.0])
    ring.push(500, [2.0])
    ring.advance(999)
    assert ring.counts[0] == 2
    assert ring.sums[0][0] == 3.0
    ring.advance(1_000)  # the event at 0 is at now - window: out
    assert ring.counts[0] == 1
    assert ring.sums[0][0] == 2.0
    ring.advance(1_500)
    assert ring.counts[0] == 0
    assert ring.sums[0][0] == 0.0


def test_advance_reports_whether_any_sum_changed() -> None:
    ring = WindowedSums((100, 1_000), 1)
    assert not ring.advance(0)
    ring.push(0, [1.0])
    assert ring.advance(50)
    assert not ring.advance(60)
    assert ring.advance(100)  # left the 100 ms window
    assert not ring.advance(999)
    assert ring.advance(1_000)


def test_each_window_evicts_on_its_own_schedule() -> None:
    ring = WindowedSums((100, 1_000), 2)
    for ts in range(0, 1_000, 10):
        ring.push(ts, [1.0, float(ts)])
    ring.advance(995)
    assert ring.counts == [10, 100]
    assert ring.sums[0] == [10.0, float(sum(range(900, 1_000, 10)))]
    assert ring.sums[1] == [100.0, float(sum(range(0, 1_000, 10)))]


def test_emptied_window_sums_to_exact_zero_after_rounding() -> None:
    ring = WindowedSums((10,), 1)
    for ts, value in enumerate([0.1, 0.2, 0.3, 1e9, -1e9, 0.7]):
        ring.push(ts, [value])
    ring.advance(100)
    assert ring.sums[0] == [0.0]
    assert ring.counts == [0]


def test_grows_past_capacity_without_losing_events() -> None:
    ring = WindowedSums((1_000_000,), 1, capacity=4)
    for ts in range(100):
        ring.push(ts, [1.0])
    ring.advance(99)
    assert ring.counts == [100]
    assert ring.sums[0] == [100.0]


def test_long_streams_stay_accurate_across_rebases() -> None:
    ring = WindowedSums((50, 500), 1, capacity=8)
    values = [math.sin(i) * 1e6 + 0.123 for i in range(20_000)]
    for ts, value in enumerate(values):
        ring.push(ts, [value])
    ring.advance(len(values) - 1)
    assert ring.sums[0][0] == pytest.approx(math.fsum(values[-50:]), rel=1e-9, abs=1e-3)
    assert ring.sums[1][0] == pytest.approx(math.fsum(values[-500:]), rel=1e-9, abs=1e-3)


def test_clear_forgets_every_event() -> None:
    ring = WindowedSums((1_000,), 1)
    ring.push(0, [5.0])
    ring.clear()
    ring.advance(10)
    assert ring.counts == [0]
    assert ring.sums[0] == [0.0]
    ring.push(20, [2.0])
    ring.advance(20)
    assert ring.sums[0] == [2.0]


def test_no_windows_means_nothing_is_kept() -> None:
    ring = WindowedSums((), 2)
    ring.push(0, [1.0, 2.0])
    ring.advance(5)
    assert ring.sums == []


@pytest.mark.parametrize(
    ("windows", "channels", "capacity"),
    [
        ((0,), 1, 8),
        ((-5,), 1, 8),
        ((10, 10), 1, 8),
        ((20, 10), 1, 8),
        ((10,), -1, 8),
        ((10,), 1, 0),
    ],
)
def test_rejects_invalid_shapes(windows: tuple[int, ...], channels: int, capacity: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        WindowedSums(windows, channels, capacity)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=120),
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=120, max_size=120),
    reads=st.lists(st.integers(min_value=0, max_value=2_000), min_size=1, max_size=5),
)
def test_matches_brute_force_on_random_streams(
    gaps: list[int], values: list[float], reads: list[int]
) -> None:
    windows = (100, 700, 3_000)
    ring = WindowedSums(windows, 2, capacity=4)
    events: list[tuple[int, list[float]]] = []
    ts = 0
    for gap, value in zip(gaps, values, strict=False):
        ts += gap
        event = [value, abs(value)]
        events.append((ts, event))
        ring.push(ts, event)
    for delay in sorted(reads):
        now = ts + delay
        ring.advance(now)
        for w, window in enumerate(windows):
            count, sums = brute_force(events, now, window, 2)
            assert ring.counts[w] == count
            scale = math.fsum(abs(v[0]) for t, v in events) + 1.0
            assert ring.sums[w] == pytest.approx(sums, abs=1e-12 * scale)
