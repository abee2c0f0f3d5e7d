"""Clocks: the one place that reads wall time, so everything else can take a clock injected."""

from __future__ import annotations

import time
from collections.abc import Callable

MsClock = Callable[[], int]


def now_ms() -> int:
    """Return wall-clock UTC time in integer milliseconds."""
    return time.time_ns() // 1_000_000


def now_us() -> int:
    """Return wall-clock UTC time in integer microseconds (latency stamps)."""
    return time.time_ns() // 1_000
