"""Features of how the book changed between consecutive snapshots: OFI, level ages, adds/cancels.

Order-flow imbalance follows Cont, Kukanov & Stoikov (2014), applied per level i (by rank, not by
price) between the previous snapshot (primed) and the current one:

    e_i = 1{b_i ≥ b'_i}·qb_i - 1{b_i ≤ b'_i}·qb'_i - 1{a_i ≤ a'_i}·qa_i + 1{a_i ≥ a'_i}·qa'_i

A missing level counts as bid price 0 / ask price +inf with size 0, so a level that appears adds
its size and one that vanishes removes it. Positive OFI means buying pressure.

Level ages and adds/cancels match the two snapshots by price. Only prices inside both snapshots'
ranges are compared, so a level that merely scrolls in or out of the top N is neither an add nor
a cancel; a level that scrolls in starts its age at 0. A size decrease counts as a cancel even if
it was a fill: the book alone cannot tell them apart.
"""

from __future__ import annotations

from tradestream.core.features.config import FeatureConfig
from tradestream.core.features.levels import BookLevels, BookSide
from tradestream.core.features.registry import FeatureSpec, window_suffix
from tradestream.core.features.ring import WindowedSums

_E_I = ("e_i = 1{b_i ≥ b'_i}·qb_i - 1{b_i ≤ b'_i}·qb'_i - 1{a_i ≤ a'_i}·qa_i + "
        "1{a_i ≥ a'_i}·qa'_i between the previous (') and current snapshot")
_SIDES = (("bid", "b"), ("ask", "a"))
# Slots of a side's current births / adds; its previous births / cancels sit at slot + 1.
_BID_SLOT = 0
_ASK_SLOT = 2


def dynamics_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """List the book-change features in vector order."""
    specs = [FeatureSpec(f"ofi_{k}", f"Σ_{{i≤{k}}} e_i, {_E_I}", "base",
                         "0.0 on the first snapshot") for k in config.ofi_levels]
    for w in config.ofi_windows_ms:
        specs += [FeatureSpec(f"ofi_{k}_sum_{window_suffix(w)}", f"Σ_W ofi_{k}, W = {w} ms",
                              "base", "0.0 with no book update in the window")
                  for k in config.ofi_levels]
    n = config.levels
    specs += [FeatureSpec(f"{side}_level_age_ms",
                          f"mean over the top {n} {side} levels of (t - time the price entered "
                          f"the top {n})", "ms", "0.0 on an empty side") for side, _ in _SIDES]
    for w in config.activity_windows_ms:
        seconds = w / 1000
        for side, px in _SIDES:
            specs += [
                FeatureSpec(f"{side}_add_rate_{window_suffix(w)}",
                            f"Σ_W (size added at prices {px}_i present in both snapshots' "
                            f"ranges: new levels + size increases) / {seconds:g} s", "base/s",
                            "0.0 with no book update in the window"),
                FeatureSpec(f"{side}_cancel_rate_{window_suffix(w)}",
                            f"Σ_W (size removed inside both snapshots' ranges: vanished levels "
                            f"+ size decreases, fills included) / {seconds:g} s", "base/s",
                            "0.0 with no book update in the window"),
            ]
    return specs


class BookDynamics:
    """Compute OFI, level ages and add/cancel rates from consecutive snapshots."""

    def __init__(self, config: FeatureConfig, base: int) -> None:
        """Lay out this group's features from position ``base`` of the vector."""
        self.specs = dynamics_specs(config)
        at = {spec.name: base + i for i, spec in enumerate(self.specs)}
        self._ofi_levels = config.ofi_levels
        self._ofi_at = [at[f"ofi_{k}"] for k in config.ofi_levels]
        self._ofi = [0.0] * len(config.ofi_levels)
        self._ofi_sums = WindowedSums(config.ofi_windows_ms, len(self._ofi))
        self._ofi_sum_at = [[at[f"ofi_{k}_sum_{window_suffix(w)}"] for k in config.ofi_levels]
                            for w in config.ofi_windows_ms]
        self._age_at = (at["bid_level_age_ms"], at["ask_level_age_ms"])
        self._births = [[0] * config.levels for _ in range(4)]
        self._activity = [0.0] * 4
        self._activity_sums = WindowedSums(config.activity_windows_ms, 4)
        self._activity_at = [
            [at[f"{side}_{kind}_rate_{window_suffix(w)}"] for side, _ in _SIDES
             for kind in ("add", "cancel")]
            for w in config.activity_windows_ms]
        self._activity_scale = [1000.0 / w for w in config.activity_windows_ms]
        self._has_previous = False

    def forget_previous(self) -> None:
        """Treat the next snapshot as the first: a rebuilt book must not diff against the old."""
        for j in range(len(self._ofi)):
            self._ofi[j] = 0.0
        self._has_previous = False

    def update(self, now: int, levels: BookLevels, out: list[float]) -> None:
        """Diff the latest snapshot against the previous one and record the changes at ``now``."""
        births = self._births
        births[0], births[1] = births[1], births[0]
        births[2], births[3] = births[3], births[2]
        out[self._age_at[0]] = self._diff_side(now, levels.bid, levels.prev_bid, _BID_SLOT)
        out[self._age_at[1]] = self._diff_side(now, levels.ask, levels.prev_ask, _ASK_SLOT)
        if self._has_previous:
            self._order_flow(levels)
            self._ofi_sums.push(now, self._ofi)
            self._activity_sums.push(now, self._activity)
        for i, value in zip(self._ofi_at, self._ofi, strict=True):
            out[i] = value
        self._has_previous = True

    def refresh(self, now: int, out: list[float]) -> None:
        """Evict events older than each window at ``now`` and write the windowed features."""
        ofi_sums = self._ofi_sums
        ofi_sums.advance(now)
        for w, indices in enumerate(self._ofi_sum_at):
            for c, i in enumerate(indices):
                out[i] = ofi_sums.total(w, c)
        activity = self._activity_sums
        activity.advance(now)
        for w, indices in enumerate(self._activity_at):
            scale = self._activity_scale[w]
            for c, i in enumerate(indices):
                out[i] = activity.total(w, c) * scale

    def _order_flow(self, levels: BookLevels) -> None:
        # Accumulate e_i level by level, recording the running sum at each configured depth.
        bp, bq, bp0, bq0 = levels.bid.px, levels.bid.sz, levels.prev_bid.px, levels.prev_bid.sz
        ap, aq, ap0, aq0 = levels.ask.px, levels.ask.sz, levels.prev_ask.px, levels.prev_ask.sz
        ofi = self._ofi
        total = 0.0
        level = 0
        for j, depth in enumerate(self._ofi_levels):
            while level < depth:
                b, b0, a, a0 = bp[level], bp0[level], ap[level], ap0[level]
                total += ((bq[level] if b >= b0 else 0.0) - (bq0[level] if b <= b0 else 0.0)
                          - (aq[level] if a <= a0 else 0.0) + (aq0[level] if a >= a0 else 0.0))
                level += 1
            ofi[j] = total

    def _diff_side(self, now: int, cur: BookSide, prev: BookSide, slot: int) -> float:
        # Merge the two price-sorted sides: carry birth times over, count adds and cancels,
        # and return the mean level age. ``better`` is +1 for bids (higher is better), -1 asks.
        births, births_prev = self._births[slot], self._births[slot + 1]
        better = 1.0 if slot == _BID_SLOT else -1.0
        n_prev = prev.n if self._has_previous else 0
        px, sz, px0, sz0 = cur.px, cur.sz, prev.px, prev.sz
        n = cur.n
        i = j = 0
        added = cancelled = age = 0.0
        while i < n and j < n_prev:
            p, p0 = px[i], px0[j]
            if p == p0:
                change = sz[i] - sz0[j]
                if change > 0.0:
                    added += change
                else:
                    cancelled -= change
                births[i] = births_prev[j]
                age += now - births[i]
                i, j = i + 1, j + 1
            elif (p - p0) * better > 0.0:
                added += sz[i]
                births[i] = now
                i += 1
            else:
                cancelled += sz0[j]
                j += 1
        for rest in range(i, n):
            births[rest] = now
        self._activity[slot] = added
        self._activity[slot + 1] = cancelled
        return age / n if n else 0.0
