"""Socket-to-broker-ack latency of ingest over a recent time window, sampled per batch.

Timing every frame costs more than the frame's own handling, so one sample is taken per
acknowledged batch: the latency of its oldest record, weighted by the records it carried. That
overstates the latency of the batch's younger records, never understates it. Receive times are
whole milliseconds, so figures are up to 1 ms high as well.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence


def weighted_percentile(samples: Sequence[tuple[float, int]], q: float) -> float:
    """Return the ``q`` quantile of (value, weight) samples sorted by value, nearest rank."""
    total = sum(weight for _, weight in samples)
    if total == 0:
        return 0.0
    rank = min(total, max(1, round(q * total)))
    seen = 0
    for value, weight in samples:
        seen += weight
        if seen >= rank:
            return value
    return samples[-1][0]


class ProduceLatency:
    """Keep the last ``window_s`` of per-batch latency samples and summarise them."""

    def __init__(
        self, window_s: float = 10.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._samples: deque[tuple[float, float, int]] = deque()

    def add(self, latency_s: float, records: int) -> None:
        """Record one acknowledged batch of ``records`` whose oldest waited ``latency_s``."""
        now = self._clock()
        self._samples.append((now, latency_s, records))
        self._expire(now)

    def _expire(self, now: float) -> None:
        samples = self._samples
        horizon = now - self._window_s
        while samples and samples[0][0] < horizon:
            samples.popleft()

    def summary_ms(self) -> dict[str, float]:
        """Return records, batches, p50, p99 and max (ms) over the window, per record."""
        self._expire(self._clock())
        ordered = sorted((latency, records) for _, latency, records in self._samples)
        return {
            "samples": float(sum(records for _, records in ordered)),
            "batches": float(len(ordered)),
            "p50": round(weighted_percentile(ordered, 0.50) * 1000, 3),
            "p99": round(weighted_percentile(ordered, 0.99) * 1000, 3),
            "max": round((ordered[-1][0] if ordered else 0.0) * 1000, 3),
        }
