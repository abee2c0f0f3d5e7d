"""Sums over trailing time windows, from prefix sums kept in one preallocated ring buffer.

The ring stores, for each event, its timestamp and the running total of each channel *before*
it (a prefix sum). The sum over any window is then ``total - prefix[oldest event in window]``:
a push costs O(channels) whatever the number of windows, eviction only moves each window's
cursor forward, and ``advance`` settles every window's sums in one call, which is what readers
need before each read. A window covers ``(now - window_ms, now]``.

Rounding stays bounded: an error made when adding an event is shared by every later prefix, so
it cancels out of every window that starts after it; and once per ``capacity`` pushes the ring
subtracts the oldest retained prefix from all prefixes (amortised O(1)), so the magnitudes stay
within what the ring holds. A window's sum is therefore accurate to a small multiple of machine
epsilon times Σ|value| over the *longest* window (not over the window itself); an empty window,
or one holding only zeros, sums to exactly 0.0.

If the longest window ever holds more events than the capacity, the ring doubles (the only
allocation after construction) rather than dropping events.

Layout, chosen for a worker holding a hundred symbols' rings, which no CPU cache holds: one event's
prefixes of every channel sit next to each other in one flat ``array("d")`` (a push writes one
cache line, a window's start reads one), and timestamps are machine integers in an
``array("q")``, not references to int objects that would each be a cache miss to compare and to
release. Rebasing and growing move whole blocks (numpy over the same memory, array slices), not
element by element.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import pairwise
from typing import TypeVar

import numpy as np

_Item = TypeVar("_Item", int, float)


class WindowedSums:
    """Keep sums of several value channels over several trailing time windows.

    Attributes:
        sums: ``sums[w][c]`` is the sum of channel ``c`` over window ``w`` as of the last
            ``advance`` (read-only for callers; channels a window does not read stay 0.0).
        counts: ``counts[w]`` is the number of events in window ``w`` as of the last ``advance``.
    """

    __slots__ = (
        "_capacity",
        "_channels",
        "_end",
        "_mask",
        "_prefix",
        "_pushes_since_rebase",
        "_read",
        "_settled",
        "_settled_end",
        "_starts",
        "_totals",
        "_ts",
        "_windows",
        "_zeros",
        "counts",
        "sums",
    )

    def __init__(
        self,
        windows_ms: Sequence[int],
        n_channels: int,
        capacity: int = 256,
        channels_read: Sequence[Sequence[int]] | None = None,
    ) -> None:
        """Allocate the ring for strictly increasing windows; capacity becomes a power of two.

        ``channels_read[w]`` lists the channels whose sums window ``w`` settles (all by default):
        sharing one ring between features that read different channels then costs nothing.
        """
        if any(w <= 0 for w in windows_ms) or any(b <= a for a, b in pairwise(windows_ms)):
            raise ValueError(f"windows must be positive and increasing, got {windows_ms}")
        if n_channels < 0 or capacity <= 0:
            raise ValueError("channel count must be >= 0 and capacity > 0")
        every = tuple(range(n_channels))
        read = [every] * len(windows_ms) if channels_read is None else list(channels_read)
        if len(read) != len(windows_ms) or not all(set(r) <= set(every) for r in read):
            raise ValueError("channels_read must list existing channels for each window")
        self._read = tuple(tuple(r) for r in read)
        size = 1
        while size < capacity:
            size *= 2
        self._windows = tuple(windows_ms)
        self._capacity = size
        self._mask = size - 1
        self._channels = n_channels
        self._ts = array("q", bytes(8 * size))
        # Prefix of channel c before event i: _prefix[(i & mask) * channels + c].
        self._prefix = array("d", bytes(8 * size * n_channels))
        self._totals = [0.0] * n_channels
        self._end = 0
        self._starts = [0] * len(self._windows)
        self._pushes_since_rebase = 0
        self._zeros = (0.0,) * n_channels
        self._settled = [0] * len(self._windows)
        self._settled_end = 0
        self.sums = [[0.0] * n_channels for _ in self._windows]
        self.counts = [0] * len(self._windows)

    @property
    def windows_ms(self) -> tuple[int, ...]:
        """Return the window lengths, in the order used by ``sums`` and ``counts``."""
        return self._windows

    def clear(self) -> None:
        """Forget every event."""
        self._end = 0
        self._pushes_since_rebase = 0
        for c in range(len(self._totals)):
            self._totals[c] = 0.0
        self._settled_end = 0
        for w, sums in enumerate(self.sums):
            self._starts[w] = 0
            self._settled[w] = 0
            self.counts[w] = 0
            sums[:] = self._zeros

    def push(self, ts_ms: int, values: list[float]) -> None:
        """Append one event stamped ``ts_ms`` (never earlier than the previous one).

        Only the longest window is moved here, which bounds memory; call ``advance`` before
        reading ``sums`` or ``counts``.
        """
        if not self._windows:
            return
        end = self._end
        cutoff = ts_ms - self._windows[-1]
        oldest = self._starts[-1]
        while oldest < end and self._ts[oldest & self._mask] <= cutoff:
            oldest += 1
        self._starts[-1] = oldest
        if end - oldest >= self._capacity:
            self._grow()
        slot = end & self._mask
        self._ts[slot] = ts_ms
        totals, prefix = self._totals, self._prefix
        at = slot * self._channels
        for c in range(self._channels):
            prefix[at + c] = totals[c]
            totals[c] += values[c]
        self._end = end + 1
        self._pushes_since_rebase += 1
        if self._pushes_since_rebase >= self._capacity:
            self._rebase()

    def advance(self, now_ms: int) -> bool:
        """Drop from each window the events at or before ``now_ms - window``; settle the sums.

        Return whether any window's sums changed since the last call, so that readers can skip
        recomputing what they derived from them.
        """
        ts, mask, end, starts = self._ts, self._mask, self._end, self._starts
        totals, prefix, counts, settled = self._totals, self._prefix, self.counts, self._settled
        channels = self._channels
        no_push = end == self._settled_end
        self._settled_end = end
        # push moves only the longest window; events before its start are gone for all windows.
        oldest = starts[-1] if starts else end
        changed = False
        for w, window_ms in enumerate(self._windows):
            cutoff = now_ms - window_ms
            start = max(starts[w], oldest)
            while start < end and ts[start & mask] <= cutoff:
                start += 1
            starts[w] = start
            if no_push and start == settled[w]:
                continue  # same events as at the last advance: the sums stand
            changed = True
            settled[w] = start
            counts[w] = end - start
            sums = self.sums[w]
            if start == end:
                sums[:] = self._zeros
                continue
            at = (start & mask) * channels
            for c in self._read[w]:
                sums[c] = totals[c] - prefix[at + c]
        return changed

    def _rebase(self) -> None:
        # Shift every prefix and the totals so that the oldest retained prefix is 0. Slots
        # outside the retained events shift too: nothing reads them before they are rewritten.
        self._pushes_since_rebase = 0
        oldest, end, channels = self._starts[-1], self._end, self._channels
        if channels == 0:
            return
        rows = np.frombuffer(self._prefix, dtype=np.float64).reshape(-1, channels)
        if oldest < end:
            base = rows[oldest & self._mask].copy()
        else:
            base = np.array(self._totals, dtype=np.float64)
        rows -= base
        totals = self._totals
        for c in range(channels):
            totals[c] -= float(base[c])

    def _grow(self) -> None:
        # Double the ring, keeping each retained event at the same absolute index.
        first, end = self._starts[-1], self._end
        new_size = self._capacity * 2
        size = self._capacity
        self._ts = _regrown(self._ts, first, end, size=size, new_size=new_size, width=1)
        self._prefix = _regrown(
            self._prefix, first, end, size=size, new_size=new_size, width=self._channels
        )
        self._capacity = new_size
        self._mask = new_size - 1


def _regrown(
    old: array[_Item], first: int, end: int, *, size: int, new_size: int, width: int
) -> array[_Item]:
    # Copy events first..end-1 (absolute indices, ``width`` items each) from a ring of ``size``
    # events to a new one of ``new_size``, in the contiguous runs the two rings share.
    new = old[:0]  # same type code
    new.frombytes(bytes(old.itemsize * width * new_size))
    i = first
    while i < end:
        src, dst = i % size, i % new_size
        run = min(end - i, size - src, new_size - dst)
        new[dst * width : (dst + run) * width] = old[src * width : (src + run) * width]
        i += run
    return new
