"""Snapshot features against hand computations and invariants over random books."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.features import FeatureConfig, FeatureEngine

# A small book, best level first. Sizes in base, prices in quote.
BID_PX = [100.0, 99.5, 99.0]
BID_SZ = [2.0, 1.0, 4.0]
ASK_PX = [100.5, 101.0, 102.0]
ASK_SZ = [1.0, 3.0, 2.0]
CONFIG = FeatureConfig(
    levels=3,
    imbalance_levels=(1, 2, 3),
    depth_levels=(1, 3),
    slope_levels=2,
    impact_notionals=(50, 300, 1_000),
    ofi_levels=(1, 3),
)


def snapshot(
    bid_px: list[float] = BID_PX,
    bid_sz: list[float] = BID_SZ,
    ask_px: list[float] = ASK_PX,
    ask_sz: list[float] = ASK_SZ,
    config: FeatureConfig = CONFIG,
) -> dict[str, float]:
    engine = FeatureEngine(config)
    engine.on_book(1_000, bid_px, bid_sz, ask_px, ask_sz)
    return engine.as_dict()


def test_prices_match_hand_computation() -> None:
    f = snapshot()
    assert f["mid"] == 100.25
    assert f["spread"] == 0.5
    assert f["spread_bps"] == pytest.approx(0.5 / 100.25 * 1e4)
    microprice = (100.5 * 2.0 + 100.0 * 1.0) / 3.0
    assert f["microprice"] == pytest.approx(microprice)
    assert f["microprice_offset_bps"] == pytest.approx((microprice - 100.25) / 100.25 * 1e4)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, (2 - 1) / (2 + 1)),
        (2, (3 - 4) / (3 + 4)),
        (3, (7 - 6) / (7 + 6)),
    ],
)
def test_imbalance_sums_the_first_k_levels(k: int, expected: float) -> None:
    assert snapshot()[f"imbalance_{k}"] == pytest.approx(expected)


def test_depth_and_notional_are_cumulative() -> None:
    f = snapshot()
    assert (f["bid_depth_1"], f["ask_depth_1"]) == (2.0, 1.0)
    assert (f["bid_depth_3"], f["ask_depth_3"]) == (7.0, 6.0)
    assert f["bid_notional_1"] == 200.0
    assert f["bid_notional_3"] == pytest.approx(200.0 + 99.5 + 396.0)
    assert f["ask_notional_3"] == pytest.approx(100.5 + 303.0 + 204.0)


def test_impact_walks_the_book_until_the_notional_is_spent() -> None:
    f = snapshot()
    mid = 100.25
    # 50 quote fits in the best ask: VWAP is the best ask.
    assert f["buy_impact_bps_50"] == pytest.approx((100.5 - mid) / mid * 1e4)
    # 300 quote: 100.5 at 100.5 (1.0 base) then 199.5 at 101.0.
    vwap_buy = 300.0 / (1.0 + 199.5 / 101.0)
    assert f["buy_impact_bps_300"] == pytest.approx((vwap_buy - mid) / mid * 1e4)
    # 300 quote on bids: 200 at 100.0 (2.0 base), 99.5 at 99.5 (1.0 base), 0.5 at 99.0.
    vwap_sell = 300.0 / (2.0 + 1.0 + 0.5 / 99.0)
    assert f["sell_impact_bps_300"] == pytest.approx((mid - vwap_sell) / mid * 1e4)


def test_impact_beyond_the_visible_book_fills_the_rest_at_the_last_price() -> None:
    f = snapshot()
    mid = 100.25
    visible = 100.5 + 303.0 + 204.0
    vwap = 1_000.0 / (6.0 + (1_000.0 - visible) / 102.0)
    assert f["buy_impact_bps_1k"] == pytest.approx((vwap - mid) / mid * 1e4)


def test_slope_is_size_per_bps_of_distance_at_the_kth_level() -> None:
    f = snapshot()
    mid = 100.25
    assert f["bid_slope_2"] == pytest.approx(3.0 / ((mid - 99.5) / mid * 1e4))
    assert f["ask_slope_2"] == pytest.approx(4.0 / ((101.0 - mid) / mid * 1e4))


def test_depths_beyond_the_book_count_missing_levels_as_empty() -> None:
    f = snapshot(BID_PX[:1], BID_SZ[:1], ASK_PX[:2], ASK_SZ[:2])
    assert f["bid_depth_3"] == 2.0
    assert f["ask_depth_3"] == 4.0
    assert f["imbalance_3"] == pytest.approx((2 - 4) / 6)
    assert f["bid_slope_2"] == pytest.approx(2.0 / (0.25 / 100.25 * 1e4))


def test_levels_beyond_config_are_ignored() -> None:
    f = snapshot([*BID_PX, 98.0], [*BID_SZ, 100.0], [*ASK_PX, 103.0], [*ASK_SZ, 100.0])
    assert f["bid_depth_3"] == 7.0
    assert f["ask_depth_3"] == 6.0


@pytest.mark.parametrize("side", ["bid", "ask"])
def test_one_sided_book_zeroes_prices_but_keeps_sizes(side: str) -> None:
    f = snapshot(bid_px=[], bid_sz=[]) if side == "ask" else snapshot(ask_px=[], ask_sz=[])
    for name in (
        "mid",
        "spread",
        "spread_bps",
        "microprice",
        "microprice_offset_bps",
        "buy_impact_bps_300",
        "sell_impact_bps_300",
        "bid_slope_2",
        "ask_slope_2",
    ):
        assert f[name] == 0.0, name
    assert f["imbalance_3"] == (1.0 if side == "bid" else -1.0)
    assert f[f"{side}_depth_3"] == 7.0 if side == "bid" else 6.0


def test_empty_book_gives_zeros_everywhere() -> None:
    f = snapshot([], [], [], [])
    assert all(value == 0.0 for value in f.values())


@st.composite
def books(draw: st.DrawFn) -> tuple[list[float], list[float], list[float], list[float]]:
    """Draw an uncrossed book on a 0.1 tick grid with 1-20 levels per side."""
    best_bid = draw(st.integers(min_value=10, max_value=10**6))
    spread = draw(st.integers(min_value=1, max_value=50))
    bid_gaps = draw(st.lists(st.integers(1, 5), min_size=1, max_size=20))
    ask_gaps = draw(st.lists(st.integers(1, 5), min_size=1, max_size=20))
    size = st.floats(min_value=1e-3, max_value=1e4)
    bid_ticks = [best_bid - sum(bid_gaps[:i]) + bid_gaps[0] for i in range(1, len(bid_gaps) + 1)]
    ask_ticks = [
        best_bid + spread + sum(ask_gaps[:i]) - ask_gaps[0] for i in range(1, len(ask_gaps) + 1)
    ]
    bids = [t / 10 for t in bid_ticks if t > 0]
    asks = [t / 10 for t in ask_ticks]
    return (
        bids,
        draw(st.lists(size, min_size=len(bids), max_size=len(bids))),
        asks,
        draw(st.lists(size, min_size=len(asks), max_size=len(asks))),
    )


@settings(max_examples=300, deadline=None)
@given(book=books())
def test_invariants_hold_on_random_uncrossed_books(
    book: tuple[list[float], list[float], list[float], list[float]],
) -> None:
    f = snapshot(*book, config=FeatureConfig())
    assert all(math.isfinite(value) for value in f.values())
    assert f["spread"] > 0.0
    assert f["spread_bps"] > 0.0
    assert book[0][0] <= f["microprice"] <= book[2][0]
    for k in (1, 5, 10, 20):
        assert -1.0 <= f[f"imbalance_{k}"] <= 1.0
    for n in ("10k", "100k"):
        assert f[f"buy_impact_bps_{n}"] >= f["spread_bps"] / 2 * (1 - 1e-9)
        assert f[f"sell_impact_bps_{n}"] >= f["spread_bps"] / 2 * (1 - 1e-9)
    assert f["buy_impact_bps_100k"] >= f["buy_impact_bps_10k"] * (1 - 1e-9)
    assert f["bid_slope_10"] >= 0.0
    assert f["ask_slope_10"] >= 0.0
