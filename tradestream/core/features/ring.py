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
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import pairwise


class WindowedSums:
    """Keep sums of several value channels over several trailing time windows.

    Attributes:
        sums: ``sums[w][c]`` is the sum of channel ``c`` over window ``w`` as of the last
            ``advance`` (read-only for callers; channels a window does not read stay 0.0).
        counts: ``counts[w]`` is the number of events in window ``w`` as of the last ``advance``.
    """

    __slots__ = (
        "_capacity",
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
        self._ts = [0] * size
        self._prefix = [array("d", bytes(8 * size)) for _ in range(n_channels)]
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
        totals = self._totals
        for c, prefix in enumerate(self._prefix):
            prefix[slot] = totals[c]
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
        totals, prefixes, counts, settled = self._totals, self._prefix, self.counts, self._settled
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
            slot = start & mask
            for c in self._read[w]:
                sums[c] = totals[c] - prefixes[c][slot]
        return changed

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
        new_prefix = [array("d", bytes(8 * new_size)) for _ in self._prefix]
        for i in range(first, self._end):
            new_ts[i & new_mask] = self._ts[i & self._mask]
            for c, prefix in enumerate(self._prefix):
                new_prefix[c][i & new_mask] = prefix[i & self._mask]
        self._ts = new_ts
        self._prefix = new_prefix
        self._capacity = new_size
        self._mask = new_mask
