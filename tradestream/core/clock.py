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


class MarketClock:
    """Each symbol's time as its market tells it, run on by the wall clock, never behind it.

    A symbol's time is the latest exchange timestamp seen for it plus the wall time elapsed since
    it was seen, or the wall time when that is later. Publishing later exchange times moves a
    symbol's clock forward (a test spends 30 simulated hours in seconds); a silent or late feed
    still ages exactly as it would on the wall clock. With ``follow`` off it is the wall clock.
    With ``behind_wall`` a symbol's time may lag the wall clock: a replayed recording keeps its
    own time, run on from its last frame, so its prices are as fresh as they were when recorded.
    """

    def __init__(
        self, wall: MsClock = now_ms, *, follow: bool = True, behind_wall: bool = False
    ) -> None:
        self._wall = wall
        self._follow = follow
        self._behind_wall = behind_wall
        self._seen: dict[str, tuple[int, int]] = {}

    def observe(self, symbol: str, exchange_ts_ms: int) -> None:
        """Take an exchange time of ``symbol`` (one earlier than the last changes nothing)."""
        last = self._seen.get(symbol)
        if self._follow and (last is None or exchange_ts_ms > last[0]):
            self._seen[symbol] = (exchange_ts_ms, self._wall())

    def now(self, symbol: str) -> int:
        """Return ``symbol``'s time in ms."""
        wall = self._wall()
        last = self._seen.get(symbol)
        if last is None:
            return wall
        market, seen_at = last
        run_on = market + wall - seen_at
        return run_on if self._behind_wall else max(wall, run_on)
