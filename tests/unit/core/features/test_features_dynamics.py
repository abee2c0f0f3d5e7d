"""OFI, level ages and add/cancel rates against hand cases and a dict-based reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.features import FeatureConfig, FeatureEngine

CONFIG = FeatureConfig(
    levels=5,
    imbalance_levels=(1,),
    depth_levels=(5,),
    slope_levels=5,
    ofi_levels=(1, 3, 5),
    ofi_windows_ms=(1_000,),
    activity_windows_ms=(2_000,),
)
Side = list[tuple[float, float]]


def feed(engine: FeatureEngine, ts: int, bids: Side, asks: Side) -> dict[str, float]:
    engine.on_book(
        ts, [p for p, _ in bids], [q for _, q in bids], [p for p, _ in asks], [q for _, q in asks]
    )
    return engine.as_dict()


def reference_ofi(prev_bids: Side, prev_asks: Side, bids: Side, asks: Side, k: int) -> float:
    """Cont-Kukanov-Stoikov e_i summed over levels 1..k, missing levels as empty."""
    total = 0.0
    for i in range(k):
        b, qb = bids[i] if i < len(bids) else (None, 0.0)
        b0, qb0 = prev_bids[i] if i < len(prev_bids) else (None, 0.0)
        a, qa = asks[i] if i < len(asks) else (None, 0.0)
        a0, qa0 = prev_asks[i] if i < len(prev_asks) else (None, 0.0)
        bid_up = b0 is None or (b is not None and b >= b0)
        bid_down = b is None or (b0 is not None and b <= b0)
        ask_down = a0 is None or (a is not None and a <= a0)
        ask_up = a is None or (a0 is not None and a >= a0)
        total += qb * bid_up - qb0 * bid_down - qa * ask_down + qa0 * ask_up
    return total


def reference_changes(prev: Side, cur: Side, is_bid: bool) -> tuple[float, float]:
    """Size added and removed at prices inside both snapshots' price ranges."""
    if not prev or not cur:
        return 0.0, 0.0
    worse = max if is_bid else min
    edge = worse(prev[-1][0], cur[-1][0])
    inside = (lambda p: p >= edge) if is_bid else (lambda p: p <= edge)
    before = {p: q for p, q in prev if inside(p)}
    after = {p: q for p, q in cur if inside(p)}
    changes = [after.get(p, 0.0) - before.get(p, 0.0) for p in before.keys() | after.keys()]
    return sum(c for c in changes if c > 0), -sum(c for c in changes if c < 0)


def test_first_snapshot_has_no_order_flow() -> None:
    f = feed(FeatureEngine(CONFIG), 0, [(100.0, 1.0)], [(101.0, 1.0)])
    assert (f["ofi_1"], f["ofi_5"], f["ofi_1_sum_1s"]) == (0.0, 0.0, 0.0)
    assert f["bid_add_rate_2s"] == f["ask_cancel_rate_2s"] == 0.0


@pytest.mark.parametrize(
    ("bids", "asks", "expected"),
    [
        ([(100.0, 3.0)], [(101.0, 2.0)], 3.0 - 2.0),  # sizes grow on both sides
        ([(100.5, 4.0)], [(101.0, 2.0)], 4.0),  # bid improves: the new size is all inflow
        ([(99.5, 7.0)], [(101.0, 2.0)], -2.0),  # bid retreats: the old size left
        ([(100.0, 2.0)], [(100.5, 5.0)], -5.0),  # ask improves: selling pressure
        ([(100.0, 2.0)], [(101.5, 5.0)], 2.0),  # ask retreats
    ],
)
def test_top_level_ofi_follows_cont_kukanov_stoikov(
    bids: Side, asks: Side, expected: float
) -> None:
    engine = FeatureEngine(CONFIG)
    feed(engine, 0, [(100.0, 2.0)], [(101.0, 2.0)])
    f = feed(engine, 100, bids, asks)
    assert f["ofi_1"] == pytest.approx(expected)
    assert f["ofi_1_sum_1s"] == pytest.approx(expected)


def test_rolling_ofi_sums_updates_inside_the_window() -> None:
    engine = FeatureEngine(CONFIG)
    feed(engine, 0, [(100.0, 1.0)], [(101.0, 1.0)])
    feed(engine, 100, [(100.0, 2.0)], [(101.0, 1.0)])  # +1
    f = feed(engine, 600, [(100.0, 5.0)], [(101.0, 1.0)])  # +3
    assert f["ofi_1_sum_1s"] == pytest.approx(4.0)
    f = feed(engine, 1_100, [(100.0, 5.0)], [(101.0, 2.0)])  # -1; the +1 at 100 leaves
    assert f["ofi_1_sum_1s"] == pytest.approx(2.0)


def test_level_age_and_adds_cancels_on_a_hand_sequence() -> None:
    engine = FeatureEngine(CONFIG)
    feed(engine, 0, [(100.0, 1.0), (99.0, 1.0)], [(101.0, 1.0), (102.0, 1.0)])
    # A new best bid is added, 99.0 shrinks; the best ask is taken out entirely.
    f = feed(engine, 1_000, [(100.5, 2.0), (100.0, 1.0), (99.0, 0.25)], [(102.0, 1.0)])
    assert f["bid_level_age_ms"] == pytest.approx((0 + 1_000 + 1_000) / 3)
    assert f["ask_level_age_ms"] == 1_000.0
    assert f["bid_add_rate_2s"] == pytest.approx(2.0 / 2.0)
    assert f["bid_cancel_rate_2s"] == pytest.approx(0.75 / 2.0)
    assert f["ask_cancel_rate_2s"] == pytest.approx(1.0 / 2.0)
    assert f["ask_add_rate_2s"] == 0.0


def test_levels_scrolling_out_of_the_top_n_are_not_cancels() -> None:
    engine = FeatureEngine(CONFIG)
    bids = [(100.0 - i, 1.0) for i in range(5)]
    feed(engine, 0, bids, [(101.0, 1.0)])
    f = feed(engine, 100, [(100.5, 1.0), *bids[:4]], [(101.0, 1.0)])
    assert f["bid_add_rate_2s"] == pytest.approx(1.0 / 2.0)
    assert f["bid_cancel_rate_2s"] == 0.0


def test_reset_book_restarts_the_diff() -> None:
    engine = FeatureEngine(CONFIG)
    feed(engine, 0, [(100.0, 1.0)], [(101.0, 1.0)])
    engine.reset_book()
    f = feed(engine, 100, [(90.0, 9.0)], [(91.0, 9.0)])
    assert f["ofi_1"] == 0.0
    assert f["ofi_1_sum_1s"] == 0.0
    assert f["bid_level_age_ms"] == 0.0
    assert f["bid_cancel_rate_2s"] == 0.0


@st.composite
def sides(draw: st.DrawFn, is_bid: bool) -> Side:
    """Draw up to 7 levels on a small tick grid so that consecutive books share prices."""
    ticks = draw(st.lists(st.integers(0, 9), min_size=0, max_size=7, unique=True))
    prices = sorted((100.0 - t if is_bid else 101.0 + t for t in ticks), reverse=is_bid)
    sizes = draw(
        st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.5]), min_size=len(prices), max_size=len(prices))
    )
    return list(zip(prices, sizes, strict=True))


@settings(max_examples=300, deadline=None)
@given(books=st.lists(st.tuples(sides(is_bid=True), sides(is_bid=False)), min_size=2, max_size=6))
def test_matches_the_reference_on_random_sequences(books: list[tuple[Side, Side]]) -> None:
    engine = FeatureEngine(CONFIG)
    births: list[dict[float, int]] = [{}, {}]
    totals = [[0.0, 0.0], [0.0, 0.0]]  # [side][added, cancelled], all inside the 2 s window
    previous: tuple[Side, Side] = ([], [])
    for step, (bids, asks) in enumerate(books):
        ts = 10 * step
        f = feed(engine, ts, bids, asks)
        top = (bids[:5], asks[:5])
        for k in (1, 3, 5):
            expected = reference_ofi(*previous, *top, k) if step else 0.0
            assert f[f"ofi_{k}"] == pytest.approx(expected), k
        for s, name in enumerate(("bid", "ask")):
            births[s] = {p: births[s].get(p, ts) for p, _ in top[s]}
            ages = [ts - born for born in births[s].values()]
            assert f[f"{name}_level_age_ms"] == pytest.approx(
                sum(ages) / len(ages) if ages else 0.0
            )
            added, cancelled = reference_changes(previous[s], top[s], s == 0)
            totals[s][0] += added
            totals[s][1] += cancelled
            assert f[f"{name}_add_rate_2s"] == pytest.approx(totals[s][0] / 2.0)
            assert f[f"{name}_cancel_rate_2s"] == pytest.approx(totals[s][1] / 2.0)
        previous = top
