"""Sums over trailing time windows, from prefix sums kept in one preallocated ring buffer.

The ring stores, for each event, its timestamp and the running total of each channel *before*
it (a prefix sum). The sum over any window is then ``total - prefix[oldest event in window]``:
a push costs O(channels) whatever the number of windows, and eviction only moves each window's
cursor forward. A window covers ``(now - window_ms, now]``.

Rounding stays bounded: an error made when adding an event is shared by every later prefix, so
it cancels out of every window that starts after it; and once per ``capacity`` pushes the ring
subtracts the oldest retained prefix from all prefixes (amortised O(1)), so the magnitudes never
grow beyond what the longest window holds. An empty window sums to exactly 0.0.

If the longest window ever holds more events than the capacity, the ring doubles (the only
allocation after construction) rather than dropping events.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise


class WindowedSums:
    """Keep sums of several value channels over several trailing time windows."""

    __slots__ = (
        "_capacity",
        "_end",
        "_mask",
        "_prefix",
        "_pushes_since_rebase",
        "_starts",
        "_totals",
        "_ts",
        "_windows",
    )

    def __init__(self, windows_ms: Sequence[int], n_channels: int, capacity: int = 256) -> None:
        """Allocate the ring for strictly increasing windows; capacity becomes a power of two."""
        if any(w <= 0 for w in windows_ms) or any(b <= a for a, b in pairwise(windows_ms)):
            raise ValueError(f"windows must be positive and increasing, got {windows_ms}")
        if n_channels < 0 or capacity <= 0:
            raise ValueError("channel count must be >= 0 and capacity > 0")
        size = 1
        while size < capacity:
            size *= 2
        self._windows = tuple(windows_ms)
        self._capacity = size
        self._mask = size - 1
        self._ts = [0] * size
        self._prefix = [[0.0] * size for _ in range(n_channels)]
        self._totals = [0.0] * n_channels
        self._end = 0
        self._starts = [0] * len(self._windows)
        self._pushes_since_rebase = 0

    @property
    def windows_ms(self) -> tuple[int, ...]:
        """Return the window lengths, in the order used by ``total`` and ``count``."""
        return self._windows

    def total(self, window: int, channel: int) -> float:
        """Return the sum of ``channel`` over the events inside window number ``window``."""
        start = self._starts[window]
        if start == self._end:
            return 0.0
        return self._totals[channel] - self._prefix[channel][start & self._mask]

    def count(self, window: int) -> int:
        """Return how many events are inside window number ``window``."""
        return self._end - self._starts[window]

    def clear(self) -> None:
        """Forget every event."""
        self._end = 0
        self._pushes_since_rebase = 0
        for w in range(len(self._starts)):
            self._starts[w] = 0
        for c in range(len(self._totals)):
            self._totals[c] = 0.0

    def push(self, ts_ms: int, values: Sequence[float]) -> None:
        """Append one event stamped ``ts_ms`` (never earlier than the previous one) and evict."""
        if not self._windows:
            return
        end = self._end
        if end - self._starts[-1] >= self._capacity:
            self._grow()
        slot = end & self._mask
        self._ts[slot] = ts_ms
        totals = self._totals
        for c, prefix in enumerate(self._prefix):
            prefix[slot] = totals[c]
            totals[c] += values[c]
        self._end = end + 1
        self._pushes_since_rebase += 1
        if self._pushes_since_rebase >= self._capacity:
            self._rebase()
        self.advance(ts_ms)

    def advance(self, now_ms: int) -> None:
        """Move every window past the events at or before ``now_ms - window``."""
        ts, mask, end, starts = self._ts, self._mask, self._end, self._starts
        for w, window_ms in enumerate(self._windows):
            cutoff = now_ms - window_ms
            start = starts[w]
            while start < end and ts[start & mask] <= cutoff:
                start += 1
            starts[w] = start

    def _rebase(self) -> None:
        # Shift every retained prefix and the totals so that the oldest retained prefix is 0.
        self._pushes_since_rebase = 0
        oldest = self._starts[-1]
        mask = self._mask
        for c, prefix in enumerate(self._prefix):
            base = prefix[oldest & mask] if oldest < self._end else self._totals[c]
            for i in range(oldest, self._end):
                prefix[i & mask] -= base
            self._totals[c] -= base

    def _grow(self) -> None:
        # Double the ring, keeping each retained event at the same absolute index.
        first = self._starts[-1]
        new_size = self._capacity * 2
        new_mask = new_size - 1
        new_ts = [0] * new_size
        new_prefix = [[0.0] * new_size for _ in self._prefix]
        for i in range(first, self._end):
            new_ts[i & new_mask] = self._ts[i & self._mask]
            for c, prefix in enumerate(self._prefix):
                new_prefix[c][i & new_mask] = prefix[i & self._mask]
        self._ts = new_ts
        self._prefix = new_prefix
        self._capacity = new_size
        self._mask = new_mask
