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

_E_I = (
    "e_i = 1{b_i ≥ b'_i}·qb_i - 1{b_i ≤ b'_i}·qb'_i - 1{a_i ≤ a'_i}·qa_i + "
    "1{a_i ≥ a'_i}·qa'_i between the previous (') and current snapshot"
)
_SIDES = (("bid", "b"), ("ask", "a"))
# Order of the activity channels and of their features within a window.
_ACTIVITY = ("bid_add", "bid_cancel", "ask_add", "ask_cancel")


def dynamics_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """List the book-change features in vector order."""
    specs = [
        FeatureSpec(f"ofi_{k}", f"Σ_{{i≤{k}}} e_i, {_E_I}", "base", "0.0 on the first snapshot")
        for k in config.ofi_levels
    ]
    for w in config.ofi_windows_ms:
        specs += [
            FeatureSpec(
                f"ofi_{k}_sum_{window_suffix(w)}",
                f"Σ_W ofi_{k}, W = {w} ms",
                "base",
                "0.0 with no book update in the window",
            )
            for k in config.ofi_levels
        ]
    n = config.levels
    specs += [
        FeatureSpec(
            f"{side}_level_age_ms",
            f"mean over the top {n} {side} levels of (t - time the price entered the top {n})",
            "ms",
            "0.0 on an empty side",
        )
        for side, _ in _SIDES
    ]
    for w in config.activity_windows_ms:
        specs += _activity_specs(w)
    return specs


def _activity_specs(window_ms: int) -> list[FeatureSpec]:
    suffix, seconds = window_suffix(window_ms), f"{window_ms / 1000:g} s"
    specs = []
    for side, px in _SIDES:
        specs += [
            FeatureSpec(
                f"{side}_add_rate_{suffix}",
                f"Σ_W (size added at prices {px}_i inside both snapshots' ranges: new levels "
                f"+ size increases) / {seconds}, W = {window_ms} ms",
                "base/s",
                "0.0 with no book update in the window",
            ),
            FeatureSpec(
                f"{side}_cancel_rate_{suffix}",
                f"Σ_W (size removed at prices {px}_i inside both snapshots' ranges: vanished "
                f"levels + size decreases, fills included) / {seconds}, W = {window_ms} ms",
                "base/s",
                "0.0 with no book update in the window",
            ),
        ]
    return specs


class SideChanges:
    """Track one side's level birth times and the size added and cancelled by each update."""

    __slots__ = (
        "_better",
        "_birth_total",
        "_births",
        "_births_prev",
        "_n",
        "added",
        "cancelled",
    )

    def __init__(self, depth: int, better: float) -> None:
        """Allocate birth buffers; ``better`` is +1 for bids (higher is better), -1 for asks."""
        self._better = better
        self._births = [0] * depth
        self._births_prev = [0] * depth
        self._birth_total = 0
        self._n = 0
        self.added = 0.0
        self.cancelled = 0.0

    def update(self, now: int, cur: BookSide, prev: BookSide, has_previous: bool) -> float:
        """Diff ``cur`` against ``prev`` (ignored without a previous) and return the mean age."""
        if has_previous and cur.px == prev.px:
            self._diff_sizes(cur.sz, prev.sz, cur.n)
        else:
            self._births, self._births_prev = self._births_prev, self._births
            self._merge(now, cur, prev, prev.n if has_previous else 0)
        self._n = cur.n
        return self.mean_age(now)

    def mean_age(self, now: int) -> float:
        """Return the mean age at ``now`` of the levels of the last update (0.0 if none)."""
        n = self._n
        return (n * now - self._birth_total) / n if n else 0.0

    def _diff_sizes(self, sz: list[float], sz0: list[float], n: int) -> None:
        # Same prices as before (the common case): births stand, only sizes may have moved.
        added = cancelled = 0.0
        if sz != sz0:
            for i in range(n):
                change = sz[i] - sz0[i]
                if change > 0.0:
                    added += change
                else:
                    cancelled -= change
        self.added = added
        self.cancelled = cancelled

    def _merge(self, now: int, cur: BookSide, prev: BookSide, n_prev: int) -> None:
        # Walk both price-sorted sides: a shared price keeps its birth and diffs its size, a
        # price only in ``cur`` is an add born now, a price only in ``prev`` is a cancel.
        births, births_prev, better = self._births, self._births_prev, self._better
        px, sz, px0, sz0 = cur.px, cur.sz, prev.px, prev.sz
        n = cur.n
        i = j = birth_total = 0
        added = cancelled = 0.0
        while i < n and j < n_prev:
            p, p0 = px[i], px0[j]
            if p == p0:
                change = sz[i] - sz0[j]
                if change > 0.0:
                    added += change
                else:
                    cancelled -= change
                birth = births_prev[j]
                j += 1
            elif (p - p0) * better > 0.0:
                added += sz[i]
                birth = now
            else:
                cancelled += sz0[j]
                j += 1
                continue
            births[i] = birth
            birth_total += birth
            i += 1
        for rest in range(i, n):
            births[rest] = now
        self._birth_total = birth_total + now * (n - i)
        self.added = added
        self.cancelled = cancelled


class BookDynamics:
    """Compute OFI, level ages and add/cancel rates from consecutive snapshots.

    One ring holds, per book update, the OFI at each depth followed by the bid and ask sizes
    added and cancelled; the OFI windows read the former, the activity windows the latter.
    """

    def __init__(self, config: FeatureConfig, base: int) -> None:
        """Lay out this group's features from position ``base`` of the vector."""
        self.specs = dynamics_specs(config)
        at = {spec.name: base + i for i, spec in enumerate(self.specs)}
        self._ofi_levels = config.ofi_levels
        self._ofi_at = [at[f"ofi_{k}"] for k in config.ofi_levels]
        n_ofi = len(config.ofi_levels)
        self._event = [0.0] * (n_ofi + 4)  # ofi at each depth, then _ACTIVITY
        self._age_at = (at["bid_level_age_ms"], at["ask_level_age_ms"])
        self._bid = SideChanges(config.levels, 1.0)
        self._ask = SideChanges(config.levels, -1.0)
        windows = tuple(sorted({*config.ofi_windows_ms, *config.activity_windows_ms}))
        self._outputs: list[tuple[int, int, int, float]] = []  # window, channel, position, scale
        read: list[list[int]] = []
        for w, window_ms in enumerate(windows):
            read.append([])
            if window_ms in config.ofi_windows_ms:
                names = [f"ofi_{k}_sum_{window_suffix(window_ms)}" for k in config.ofi_levels]
                self._outputs += [(w, c, at[name], 1.0) for c, name in enumerate(names)]
                read[w] += range(n_ofi)
            if window_ms in config.activity_windows_ms:
                names = [f"{kind}_rate_{window_suffix(window_ms)}" for kind in _ACTIVITY]
                self._outputs += [
                    (w, n_ofi + c, at[name], 1000.0 / window_ms) for c, name in enumerate(names)
                ]
                read[w] += range(n_ofi, n_ofi + 4)
        self._changes = WindowedSums(windows, n_ofi + 4, channels_read=read)
        self._has_previous = False

    def forget_previous(self) -> None:
        """Treat the next snapshot as the first: a rebuilt book must not diff against the old."""
        for j in range(len(self._event)):
            self._event[j] = 0.0
        self._has_previous = False

    def update(self, now: int, levels: BookLevels, out: list[float]) -> None:
        """Diff the latest snapshot against the previous one and record the changes at ``now``."""
        has_previous = self._has_previous
        bid, ask = self._bid, self._ask
        out[self._age_at[0]] = bid.update(now, levels.bid, levels.prev_bid, has_previous)
        out[self._age_at[1]] = ask.update(now, levels.ask, levels.prev_ask, has_previous)
        event = self._event
        if has_previous:
            order_flow(levels, self._ofi_levels, event)
            n_ofi = len(self._ofi_levels)
            event[n_ofi], event[n_ofi + 1] = bid.added, bid.cancelled
            event[n_ofi + 2], event[n_ofi + 3] = ask.added, ask.cancelled
            self._changes.push(now, event)
        for j, i in enumerate(self._ofi_at):
            out[i] = event[j]
        self._has_previous = True

    def repeat(self, now: int, out: list[float]) -> None:
        """Record at ``now`` an update identical to the last: no flow, levels one update older.

        An all-zero event adds nothing to any window's sums, so it is not pushed.
        """
        out[self._age_at[0]] = self._bid.mean_age(now)
        out[self._age_at[1]] = self._ask.mean_age(now)
        event = self._event
        for j, i in enumerate(self._ofi_at):
            event[j] = 0.0
            out[i] = 0.0

    def refresh(self, now: int, out: list[float]) -> None:
        """Evict events older than each window at ``now`` and write the windowed features."""
        ring = self._changes
        if not ring.advance(now):
            return  # no update came or left: the values written last time stand
        sums = ring.sums
        for w, c, i, scale in self._outputs:
            out[i] = sums[w][c] * scale


def order_flow(levels: BookLevels, depths: tuple[int, ...], ofi: list[float]) -> None:
    """Write into ``ofi[j]`` the sum of e_i over levels 1..depths[j] (depths increasing).

    ``ofi`` may be longer than ``depths``; the positions after them are left alone.

    One pass over the levels serves every depth; the sentinels of missing levels make the
    indicator formula handle levels that appeared or vanished without a branch of their own.
    """
    bp, bq, bp0, bq0 = levels.bid.px, levels.bid.sz, levels.prev_bid.px, levels.prev_bid.sz
    ap, aq, ap0, aq0 = levels.ask.px, levels.ask.sz, levels.prev_ask.px, levels.prev_ask.sz
    total = 0.0
    level = 0
    for j, depth in enumerate(depths):
        while level < depth:
            b, b0, a, a0 = bp[level], bp0[level], ap[level], ap0[level]
            total += (
                (bq[level] if b >= b0 else 0.0)
                - (bq0[level] if b <= b0 else 0.0)
                - (aq[level] if a <= a0 else 0.0)
                + (aq0[level] if a >= a0 else 0.0)
            )
            level += 1
        ofi[j] = total
