"""The trading day and the equity peak: what daily loss and drawdown are measured from.

A trading day starts at a configured UTC hour. The day's PnL is the change in equity since the
first moment of the day we saw, i.e. the equity carried over the boundary by the last event before
it. Roll-over happens when an event (or the roll-over timer) brings a time at or past the next
boundary, so a replay of the same events rolls at the same place. Late events stamped before the
current day start never roll the day back.
"""

from __future__ import annotations

from decimal import Decimal

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def trading_day_start(ts_ms: int, start_hour_utc: int) -> int:
    """Return the start (ms) of the trading day that contains ``ts_ms``."""
    offset = start_hour_utc * HOUR_MS
    return (ts_ms - offset) // DAY_MS * DAY_MS + offset


class EquityCurve:
    """Track the current trading day's opening equity and the highest equity seen."""

    def __init__(
        self,
        start_hour_utc: int,
        peak: Decimal,
        *,
        day_start_ms: int | None = None,
        day_start_equity: Decimal | None = None,
    ) -> None:
        if not 0 <= start_hour_utc <= 23:
            raise ValueError(f"the trading day starts at a UTC hour 0-23, not {start_hour_utc}")
        self.start_hour_utc = start_hour_utc
        self.peak = peak
        self.day_start_ms = day_start_ms
        self.day_start_equity = day_start_equity if day_start_equity is not None else peak

    def roll(self, ts_ms: int, equity: Decimal) -> bool:
        """Open a new trading day with ``equity`` if ``ts_ms`` reached the next boundary."""
        start = trading_day_start(ts_ms, self.start_hour_utc)
        if self.day_start_ms is not None and start <= self.day_start_ms:
            return False
        first = self.day_start_ms is None
        self.day_start_ms = start
        if not first:
            self.day_start_equity = equity
        return True

    def day(self, ts_ms: int, equity: Decimal) -> tuple[int, Decimal]:
        """Roll if due and return the current trading day's start and opening equity."""
        self.roll(ts_ms, equity)
        start = self.day_start_ms if self.day_start_ms is not None else ts_ms
        return start, self.day_start_equity

    def observe(self, equity: Decimal) -> None:
        """Raise the peak to ``equity`` if it is a new high."""
        self.peak = max(self.peak, equity)
