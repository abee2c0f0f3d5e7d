"""Volume profile of the last N bars: point of control and the 70 % value area.

Prices are cut into fixed bins of ``bin_size`` (bin i covers [i·size, (i+1)·size), i =
floor(price / size)), fixed so that a bar can be added and later taken out again without
re-binning the window. Each bar's volume is spread evenly over the bins its [low, high] range
touches: without tick data, that is the least-assuming guess of where in the bar it traded.

- POC (point of control): the centre of the bin holding the most volume (the lowest such bin on
  an exact tie).
- Value area: starting from the POC bin, add the neighbouring bin with more volume (the upper one
  on a tie; bins inside the profile's range with no volume count as 0) until the bins hold at
  least ``value_area`` (70 %) of the window's volume. VAH is the top edge of its highest bin,
  VAL the bottom edge of its lowest.

Cost: a bar costs O(bins its range touches) to add and again to drop; the levels cost
O(bins in the window's price range) per bar, so pick ``bin_size`` for a few dozen to a few
hundred bins (BTCUSDT, 240 one-minute bars, 10 USDT bins: 45-190 bins, ~17 µs per bar).
Bin volumes are ``ExactSum`` s, so they equal ``math.fsum`` of their shares in the window bit
for bit, whatever came and went: the levels never drift and exact ties stay ties.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from tradestream.core.candles import Candle
from tradestream.core.indicators.exact_sum import ExactSum
from tradestream.core.indicators.indicator import check_period, check_positive


@dataclass(frozen=True, slots=True)
class ProfileLevels:
    """Point of control and value-area edges of a volume profile, as prices."""

    poc: float
    vah: float
    val: float


class VolumeProfile:
    """Bin the last ``period`` bars' volume by price; ready after ``period`` bars."""

    __slots__ = (
        "_bars",
        "_base",
        "_bin_size",
        "_counts",
        "_period",
        "_sums",
        "_total",
        "_value",
        "_value_area",
        "_volumes",
    )

    def __init__(self, period: int, bin_size: float, value_area: float = 0.7) -> None:
        """Check the period (>= 1), bin size (> 0) and value-area share (in (0, 1])."""
        self._period = check_period("VolumeProfile", "period", period)
        self._bin_size = check_positive("VolumeProfile", "bin_size", bin_size)
        if not 0.0 < value_area <= 1.0:
            raise ValueError(f"VolumeProfile value_area must be in (0, 1], got {value_area!r}")
        self._value_area = float(value_area)
        self._bars: deque[tuple[int, int, float, float]] = deque()
        # Bins base, base + 1, ... up to the highest touched, at list positions 0, 1, ...: how many
        # window bars touch each, their exact volume, and that volume rounded.
        self._base = 0
        self._counts: list[int] = []
        self._sums: list[ExactSum] = []
        self._volumes: list[float] = []
        self._total = ExactSum()
        self._value: ProfileLevels | None = None

    @property
    def value(self) -> ProfileLevels | None:
        """Return POC, VAH and VAL as of the last bar; None while warming up or without volume."""
        return self._value

    @property
    def ready(self) -> bool:
        """Return whether the window is full and holds any volume."""
        return self._value is not None

    def volumes(self) -> dict[float, float]:
        """Return each touched bin's volume by the bin's lower edge, lowest price first."""
        size, base = self._bin_size, self._base
        return {
            (base + j) * size: volume
            for j, volume in enumerate(self._volumes)
            if self._counts[j] > 0
        }

    def update(self, high: float, low: float, volume: float) -> ProfileLevels | None:
        """Add the newest bar, dropping the oldest; return the levels of the window."""
        if high < low:
            raise ValueError(f"VolumeProfile bar high {high} is below its low {low}")
        first = math.floor(low / self._bin_size)
        last = math.floor(high / self._bin_size)
        share = volume / (last - first + 1)
        self._cover(first, last)
        self._spread(first, last, share, 1)
        self._total.add(volume)
        bars = self._bars
        bars.append((first, last, share, volume))
        if len(bars) > self._period:
            old_first, old_last, old_share, old_volume = bars.popleft()
            self._spread(old_first, old_last, -old_share, -1)
            self._total.add(-old_volume)
            self._trim()
        if len(bars) < self._period:
            return None
        self._value = self._levels()
        return self._value

    def update_candle(self, candle: Candle) -> ProfileLevels | None:
        """Add the bar's range and volume."""
        return self.update(candle.high, candle.low, candle.volume)

    def _cover(self, first: int, last: int) -> None:
        # Extend the bin lists so that they reach bins first..last.
        if not self._counts:
            self._base = first
        below = self._base - first
        if below > 0:
            self._counts[0:0] = [0] * below
            self._sums[0:0] = [ExactSum() for _ in range(below)]
            self._volumes[0:0] = [0.0] * below
            self._base = first
        above = last - self._base + 1 - len(self._counts)
        if above > 0:
            self._counts += [0] * above
            self._sums += [ExactSum() for _ in range(above)]
            self._volumes += [0.0] * above

    def _spread(self, first: int, last: int, share: float, bars: int) -> None:
        # Add (bars=1) or take out (bars=-1) one bar's share in bins first..last.
        counts, sums, volumes = self._counts, self._sums, self._volumes
        for j in range(first - self._base, last - self._base + 1):
            counts[j] += bars
            cell = sums[j]
            cell.add(share)
            volumes[j] = cell.value

    def _trim(self) -> None:
        # Drop bins no window bar touches any more from both ends of the lists.
        counts = self._counts
        start = 0
        while start < len(counts) and counts[start] == 0:
            start += 1
        end = len(counts)
        while end > start and counts[end - 1] == 0:
            end -= 1
        if start > 0 or end < len(counts):
            del counts[end:], self._sums[end:], self._volumes[end:]
            del counts[:start], self._sums[:start], self._volumes[:start]
            self._base += start

    def _levels(self) -> ProfileLevels | None:
        # Find the POC and grow the value area around it, over the window's price range.
        total = self._total.value
        if total <= 0.0:
            return None
        volumes = self._volumes
        poc = volumes.index(max(volumes))
        target = self._value_area * total
        low = high = poc
        covered = volumes[poc]
        top = len(volumes) - 1
        while covered < target and (low > 0 or high < top):
            above = volumes[high + 1] if high < top else -1.0
            below = volumes[low - 1] if low > 0 else -1.0
            if above >= below:
                high += 1
                covered += above
            else:
                low -= 1
                covered += below
        size, base = self._bin_size, self._base
        return ProfileLevels(
            (base + poc + 0.5) * size, (base + high + 1) * size, (base + low) * size
        )
