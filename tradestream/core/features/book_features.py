"""Features of one book snapshot: prices, spread, imbalance, depth, fill cost and slope.

These need only the current top-N levels. One pass per side accumulates size and notional up to
every configured depth ("checkpoint"); every depth feature reads those sums. A depth deeper than
the book counts the missing levels as empty.

Price features (mid, spread, microprice, impact, slope) need a two-sided book with a positive mid;
otherwise they are 0.0, while the size features still describe whatever side is present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tradestream.core.features.config import FeatureConfig
from tradestream.core.features.levels import BookLevels, BookSide
from tradestream.core.features.registry import FeatureSpec, notional_suffix

BPS: Final = 1e4
_TWO_SIDED: Final = "0.0 unless both sides have a level"


_PRICE_SPECS = (
    FeatureSpec("mid", "(b_1 + a_1) / 2", "quote", _TWO_SIDED),
    FeatureSpec("spread", "a_1 - b_1 (negative only if the book is crossed)", "quote", _TWO_SIDED),
    FeatureSpec("spread_bps", "10^4 · (a_1 - b_1) / mid", "bps", _TWO_SIDED),
    FeatureSpec(
        "microprice",
        "(a_1 · qb_1 + b_1 · qa_1) / (qb_1 + qa_1), size-weighted mid",
        "quote",
        _TWO_SIDED,
    ),
    FeatureSpec("microprice_offset_bps", "10^4 · (microprice - mid) / mid", "bps", _TWO_SIDED),
)


def book_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """List the snapshot features in vector order."""
    specs = list(_PRICE_SPECS)
    specs += [_imbalance_spec(k) for k in config.imbalance_levels]
    for k in config.depth_levels:
        specs += [
            FeatureSpec(f"bid_depth_{k}", f"Σ_{{i≤{k}}} qb_i", "base", "0.0 on an empty side"),
            FeatureSpec(f"ask_depth_{k}", f"Σ_{{i≤{k}}} qa_i", "base", "0.0 on an empty side"),
        ]
    for k in config.depth_levels:
        specs += [
            FeatureSpec(
                f"bid_notional_{k}", f"Σ_{{i≤{k}}} b_i · qb_i", "quote", "0.0 on an empty side"
            ),
            FeatureSpec(
                f"ask_notional_{k}", f"Σ_{{i≤{k}}} a_i · qa_i", "quote", "0.0 on an empty side"
            ),
        ]
    for n in config.impact_notionals:
        specs += _impact_specs(n)
    return specs + _slope_specs(config.slope_levels)


def _imbalance_spec(k: int) -> FeatureSpec:
    bids, asks = f"Σ_{{i≤{k}}} qb_i", f"Σ_{{i≤{k}}} qa_i"
    return FeatureSpec(
        f"imbalance_{k}",
        f"({bids} - {asks}) / ({bids} + {asks})",
        "ratio in [-1, 1]",
        "0.0 when both sides are empty",
    )


def _slope_specs(k: int) -> list[FeatureSpec]:
    return [
        FeatureSpec(
            f"{side}_slope_{k}",
            f"Σ_{{i≤m}} q{px}_i / (10^4 · |mid - {px}_m| / mid), m = min({k}, levels on the "
            "side): resting size per bps of distance from mid",
            "base/bps",
            _TWO_SIDED + "; 0.0 when the distance is 0",
        )
        for side, px in (("bid", "b"), ("ask", "a"))
    ]


def _impact_specs(notional: int) -> list[FeatureSpec]:
    suffix = notional_suffix(notional)
    walk = (
        f"VWAP{{side}}({notional}) = {notional} / base quantity filled walking the {{book}} "
        f"from the best level until {notional} quote is spent; a notional deeper than the "
        "visible levels is filled at the last visible price"
    )
    return [
        FeatureSpec(
            f"buy_impact_bps_{suffix}",
            "10^4 · (VWAP_ask - mid) / mid, " + walk.format(side="_ask", book="asks"),
            "bps",
            _TWO_SIDED,
        ),
        FeatureSpec(
            f"sell_impact_bps_{suffix}",
            "10^4 · (mid - VWAP_bid) / mid, " + walk.format(side="_bid", book="bids"),
            "bps",
            _TWO_SIDED,
        ),
    ]


def _cumulate(
    side: BookSide, checkpoints: Sequence[int], cum_q: list[float], cum_n: list[float]
) -> None:
    # Running size and notional totals, summed best level first, read at each checkpoint depth
    # (increasing); a checkpoint deeper than the side reads the side's total. One pass with no
    # intermediate lists: faster than ``accumulate`` interpreted, and native floats compiled.
    px, sz = side.px, side.sz
    n: int = side.n
    q = notional = 0.0
    i = 0
    for j, depth in enumerate(checkpoints):
        stop = depth if depth < n else n
        while i < stop:
            size: float = sz[i]
            q += size
            notional += size * px[i]
            i += 1
        cum_q[j] = q
        cum_n[j] = notional


def fill_vwap(side: BookSide, notional: float) -> float:
    """Return the average price of spending ``notional`` quote against ``side``, best first.

    The remainder beyond the visible levels is filled at the last visible price, so a thin book
    understates the cost instead of producing an undefined value. The side must not be empty.
    """
    px, sz = side.px, side.sz
    remaining = notional
    qty = 0.0
    for i in range(side.n):
        p = px[i]
        level_notional = p * sz[i]
        if level_notional >= remaining:
            return notional / (qty + remaining / p)
        remaining -= level_notional
        qty += sz[i]
    return notional / (qty + remaining / px[side.n - 1])


def _size_layout(
    config: FeatureConfig, at: dict[str, int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int, int]]]:
    # Pair each imbalance / depth output position with its checkpoint's index.
    checkpoints = config.checkpoint_levels
    imbalance = [(at[f"imbalance_{k}"], checkpoints.index(k)) for k in config.imbalance_levels]
    depth = [
        (
            at[f"bid_depth_{k}"],
            at[f"ask_depth_{k}"],
            at[f"bid_notional_{k}"],
            at[f"ask_notional_{k}"],
            checkpoints.index(k),
        )
        for k in config.depth_levels
    ]
    return imbalance, depth


class BookFeatures:
    """Compute the snapshot features of the latest top-N levels into the feature vector."""

    def __init__(self, config: FeatureConfig, base: int) -> None:
        """Lay out this group's features from position ``base`` of the vector."""
        self.specs = book_specs(config)
        at = {spec.name: base + i for i, spec in enumerate(self.specs)}
        checkpoints = config.checkpoint_levels
        self._checkpoints = checkpoints
        self._bid_q = [0.0] * len(checkpoints)
        self._ask_q = [0.0] * len(checkpoints)
        self._bid_n = [0.0] * len(checkpoints)
        self._ask_n = [0.0] * len(checkpoints)
        self._imbalance, self._depth = _size_layout(config, at)
        self._impact = [
            (
                at[f"buy_impact_bps_{notional_suffix(n)}"],
                at[f"sell_impact_bps_{notional_suffix(n)}"],
                float(n),
            )
            for n in config.impact_notionals
        ]
        k = config.slope_levels
        self._slope = (at[f"bid_slope_{k}"], at[f"ask_slope_{k}"], checkpoints.index(k), k)
        self._prices = (
            at["mid"],
            at["spread"],
            at["spread_bps"],
            at["microprice"],
            at["microprice_offset_bps"],
        )
        self._price_dependent = [
            *self._prices,
            *(i for t in self._impact for i in t[:2]),
            *self._slope[:2],
        ]
        self.mid = 0.0
        self.microprice = 0.0

    def update(self, levels: BookLevels, out: list[float]) -> None:
        """Recompute every snapshot feature; keep ``mid``/``microprice`` (0.0 if undefined)."""
        bid, ask = levels.bid, levels.ask
        _cumulate(bid, self._checkpoints, self._bid_q, self._bid_n)
        _cumulate(ask, self._checkpoints, self._ask_q, self._ask_n)
        self._write_sizes(out)
        mid = 0.5 * (bid.px[0] + ask.px[0])
        if bid.n and ask.n and mid > 0.0:
            self._write_prices(bid, ask, mid, out)
        else:
            self.mid = self.microprice = 0.0
            for i in self._price_dependent:
                out[i] = 0.0

    def _write_sizes(self, out: list[float]) -> None:
        bid_q, ask_q = self._bid_q, self._ask_q
        for i, j in self._imbalance:
            total = bid_q[j] + ask_q[j]
            out[i] = (bid_q[j] - ask_q[j]) / total if total > 0.0 else 0.0
        for i_bq, i_aq, i_bn, i_an, j in self._depth:
            out[i_bq] = bid_q[j]
            out[i_aq] = ask_q[j]
            out[i_bn] = self._bid_n[j]
            out[i_an] = self._ask_n[j]

    def _write_prices(self, bid: BookSide, ask: BookSide, mid: float, out: list[float]) -> None:
        b1, a1, qb, qa = bid.px[0], ask.px[0], bid.sz[0], ask.sz[0]
        top = qb + qa
        micro = (a1 * qb + b1 * qa) / top if top > 0.0 else mid
        i_mid, i_spread, i_spread_bps, i_micro, i_offset = self._prices
        out[i_mid] = mid
        out[i_spread] = a1 - b1
        out[i_spread_bps] = (a1 - b1) / mid * BPS
        out[i_micro] = micro
        out[i_offset] = (micro - mid) / mid * BPS
        self.mid = mid
        self.microprice = micro
        for i_buy, i_sell, notional in self._impact:
            out[i_buy] = (fill_vwap(ask, notional) - mid) / mid * BPS
            out[i_sell] = (mid - fill_vwap(bid, notional)) / mid * BPS
        i_bid, i_ask, j, k = self._slope
        out[i_bid] = _slope(bid, k, self._bid_q[j], mid)
        out[i_ask] = _slope(ask, k, self._ask_q[j], mid)


def top_prices(bid: BookSide, ask: BookSide) -> tuple[float, float]:
    """Return (mid, microprice) exactly as ``BookFeatures.update`` does, 0.0s if undefined.

    The per-event return features need only these two; the rest of the snapshot features are
    computed when the vector is read.
    """
    b1, a1 = bid.px[0], ask.px[0]
    mid = 0.5 * (b1 + a1)
    if not (bid.n and ask.n and mid > 0.0):
        return 0.0, 0.0
    qb, qa = bid.sz[0], ask.sz[0]
    top = qb + qa
    return mid, (a1 * qb + b1 * qa) / top if top > 0.0 else mid


def _slope(side: BookSide, k: int, cum_q: float, mid: float) -> float:
    # Resting size per bps of distance from mid, measured at the k-th (or last) level.
    m = k if k < side.n else side.n
    distance_bps = abs(mid - side.px[m - 1]) / mid * BPS
    return cum_q / distance_bps if distance_bps > 0.0 else 0.0
