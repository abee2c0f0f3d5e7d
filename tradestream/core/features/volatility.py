"""Statistics of mid log-returns over trailing time windows, and price rates of change.

Every book update with a valid mid contributes one return r_t = 10^4 · ln(mid_t / mid_{t-1})
(bps), also when the mid did not move (r_t = 0): the statistics are per book update, aggregated
over a trailing *time* window, so they do not depend on how long the history is in events.

Power sums Σr, Σr², Σr³ per window give the moments in O(1). Their rounding error scales with the
mean square of the returns in the longest window (ring.py) rather than with the variance: the std
carries an absolute error of about 1e-8 times that root mean square (≈ 1e-8 bps for 1 bps returns),
and the skew is reported as 0.0 once the variance falls below 1e-6 of that mean square, where it
could no longer be resolved. Mid returns are centred near zero and tick-sized, so neither limit
matters in practice; results are clamped so that rounding never yields a negative variance.

The sum of returns over (t - H, t] telescopes to 10^4 · ln(mid_t / mid_{t-H}), so rates of change
and acceleration come from the same windowed sums, for the mid and for the microprice.
"""

from __future__ import annotations

import math
from typing import Final

from tradestream.core.features.config import FeatureConfig
from tradestream.core.features.registry import FeatureSpec, window_suffix
from tradestream.core.features.ring import WindowedSums

BPS: Final = 1e4
# Channels of the return ring: mid return and its square and cube, microprice return.
_R: Final = 0
_R2: Final = 1
_R3: Final = 2
_R_MICRO: Final = 3
_NO_RETURNS: Final = [0.0, 0.0, 0.0, 0.0]  # an update that moved no price (read, never written)
# Below this fraction of the mean square, power sums cannot resolve the third central moment.
_RELATIVE_VARIANCE_FLOOR: Final = 1e-6


def volatility_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """List the return-statistics and rate-of-change features in vector order."""
    specs: list[FeatureSpec] = []
    for w in config.volatility_windows_ms:
        specs += _return_specs(w)
    for price in ("mid", "microprice"):
        for h in config.roc_horizons_ms:
            specs += _roc_specs(price, h)
    return specs


def _return_specs(window_ms: int) -> list[FeatureSpec]:
    s = window_suffix(window_ms)
    empty = "0.0 with no return in the window"
    return [
        FeatureSpec(
            f"realized_vol_{s}", f"sqrt(Σ_W r_t²), W = {window_ms} ms, not annualised", "bps", empty
        ),
        FeatureSpec(f"return_mean_{s}", "Σ_W r_t / n, n = returns in W", "bps", empty),
        FeatureSpec(
            f"return_std_{s}",
            "sqrt((Σ_W r_t² - n·mean²) / (n - 1)), sample std",
            "bps",
            "0.0 with fewer than 2 returns",
        ),
        FeatureSpec(
            f"return_skew_{s}",
            "m3 / m2^(3/2), m_k = Σ_W (r_t - mean)^k / n (biased, as scipy.stats.skew)",
            "ratio",
            "0.0 with fewer than 3 returns or a variance too small to resolve (module doc)",
        ),
    ]


def _roc_specs(price: str, horizon_ms: int) -> list[FeatureSpec]:
    s = window_suffix(horizon_ms)
    return [
        FeatureSpec(
            f"{price}_roc_{s}",
            f"10^4 · ln(x_t / x_{{t-H}}) / (H / 1000 s), x = {price}, H = {horizon_ms} ms, "
            "x_{t-H} = value in effect at t - H (the first value while the history is shorter)",
            "bps/s",
            "0.0 before the second valid value",
        ),
        FeatureSpec(
            f"{price}_accel_{s}",
            "10^4 · (ln(x_t / x_{t-H}) - ln(x_{t-H} / x_{t-2H})) / (H / 1000 s)², "
            f"x = {price}, H = {horizon_ms} ms",
            "bps/s²",
            "0.0 before the second valid value",
        ),
    ]


def _moments(
    n: int, s1: float, s2: float, s3: float, s2_longest: float
) -> tuple[float, float, float, float]:
    # Realised vol, mean, sample std and biased skew from power sums; 0.0 where undefined.
    # Rounding noise scales with the longest window's Σr², so the skew floor does too.
    vol = math.sqrt(s2) if s2 > 0.0 else 0.0
    if n == 0:
        return vol, 0.0, 0.0, 0.0
    mean = s1 / n
    var = (s2 - s1 * mean) / (n - 1) if n > 1 else 0.0
    std = math.sqrt(var) if var > 0.0 else 0.0
    m2 = s2 / n - mean * mean
    if n < 3 or m2 <= _RELATIVE_VARIANCE_FLOOR * max(s2, s2_longest) / n:
        return vol, mean, std, 0.0
    m3 = s3 / n - 3.0 * mean * s2 / n + 2.0 * mean * mean * mean
    return vol, mean, std, m3 / (m2 * math.sqrt(m2))


class Volatility:
    """Compute return statistics of the mid and rates of change of mid and microprice.

    One ring holds, per book update, the mid return r, r², r³ and the microprice return; the
    statistics windows read the first three channels, the rate-of-change windows (H and 2H) the
    first and the last.
    """

    def __init__(self, config: FeatureConfig, base: int) -> None:
        """Lay out this group's features from position ``base`` of the vector."""
        self.specs = volatility_specs(config)
        at = {spec.name: base + i for i, spec in enumerate(self.specs)}
        horizons = config.roc_horizons_ms
        roc_windows = {*horizons, *(2 * h for h in horizons)}
        windows = tuple(sorted({*config.volatility_windows_ms, *roc_windows}))
        read = [
            sorted(
                {
                    *((_R, _R2, _R3) if w in config.volatility_windows_ms else ()),
                    *((_R, _R_MICRO) if w in roc_windows else ()),
                    *((_R2,) if w == windows[-1] else ()),  # the skew floor's noise scale
                }
            )
            for w in windows
        ]
        self._returns = WindowedSums(windows, 4, channels_read=read)
        self._event = [0.0] * 4
        self._last_mid = 0.0
        self._last_micro = 0.0
        self._mid_defined = False
        self._stats = [
            (windows.index(w), at[f"realized_vol_{window_suffix(w)}"])
            for w in config.volatility_windows_ms
        ]
        self._roc = [
            (
                channel,
                windows.index(h),
                windows.index(2 * h),
                at[f"{price}_roc_{window_suffix(h)}"],
                at[f"{price}_accel_{window_suffix(h)}"],
                1000.0 / h,
            )
            for price, channel in (("mid", _R), ("microprice", _R_MICRO))
            for h in horizons
        ]

    def update(self, now: int, mid: float, microprice: float) -> None:
        """Record the returns of one book update; a mid of 0.0 (undefined) is skipped."""
        self._mid_defined = mid > 0.0
        if mid <= 0.0:
            return
        last_mid, last_micro = self._last_mid, self._last_micro
        self._last_mid, self._last_micro = mid, microprice
        if last_mid <= 0.0:
            return
        r = BPS * math.log(mid / last_mid)
        event = self._event
        event[_R], event[_R2], event[_R3] = r, r * r, r * r * r
        event[_R_MICRO] = BPS * math.log(microprice / last_micro)
        self._returns.push(now, event)

    def repeat(self, now: int) -> None:
        """Record at ``now`` a book update that left mid and microprice as they were."""
        if self._mid_defined:  # as update() with the same mid: a zero return
            self._returns.push(now, _NO_RETURNS)

    def refresh(self, now: int, out: list[float]) -> None:
        """Evict returns older than each window at ``now`` and write the features."""
        ring = self._returns
        if not ring.advance(now):
            return  # no return came or left: the values written last time stand
        sums = ring.sums
        s2_longest = sums[-1][_R2] if sums else 0.0
        for w, i in self._stats:
            s1, s2, s3, _ = sums[w]
            # volatility_specs lists vol, mean, std and skew of one window next to each other.
            out[i], out[i + 1], out[i + 2], out[i + 3] = _moments(
                ring.counts[w], s1, s2, s3, s2_longest
            )
        for c, w_h, w_2h, i_roc, i_accel, per_second in self._roc:
            recent = sums[w_h][c]
            out[i_roc] = recent * per_second
            out[i_accel] = (2.0 * recent - sums[w_2h][c]) * per_second * per_second
