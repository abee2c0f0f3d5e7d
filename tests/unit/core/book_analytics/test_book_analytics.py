"""Order-book analytics on synthetic books with known answers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tradestream.core.book_analytics import ANALYTICS_NAMES, AnalyticsConfig, BookAnalytics

TICK = 0.1
LEVELS = 50


def ladder(
    best_bid: float = 100.0,
    bid_extra: dict[int, float] | None = None,
    ask_extra: dict[int, float] | None = None,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Return a book of unit-size levels one tick apart, with sizes overridden by rank."""
    bid_px = [round(best_bid - TICK * i, 6) for i in range(LEVELS)]
    ask_px = [round(best_bid + TICK * (i + 1), 6) for i in range(LEVELS)]
    bid_sz = [(bid_extra or {}).get(i, 1.0) for i in range(LEVELS)]
    ask_sz = [(ask_extra or {}).get(i, 1.0) for i in range(LEVELS)]
    return bid_px, bid_sz, ask_px, ask_sz


def feed(analytics: BookAnalytics, ts: int, book: tuple[list[float], ...]) -> dict[str, float]:
    analytics.on_book(ts, *book)
    return analytics.as_dict()


def test_names_are_unique_and_documented() -> None:
    analytics = BookAnalytics()
    assert len(set(ANALYTICS_NAMES)) == len(ANALYTICS_NAMES) == len(analytics)
    assert "spoof_events_60s" in ANALYTICS_NAMES
    assert all(spec.formula for spec in analytics.specs)


def test_flat_book_has_no_cluster() -> None:
    values = feed(BookAnalytics(), 1_000, ladder())
    assert values["cluster_bid_count"] == values["cluster_ask_count"] == 0.0
    assert values["cluster_bid_px_dist_bps"] == values["cluster_bid_size_ratio"] == 0.0


def test_planted_cluster_is_found() -> None:
    values = feed(BookAnalytics(), 1_000, ladder(bid_extra={10: 10.0}, ask_extra={5: 6.0}))
    mid = 100.05
    assert values["cluster_bid_count"] == 1.0
    assert values["cluster_bid_size_ratio"] == pytest.approx(10.0)
    assert values["cluster_bid_px_dist_bps"] == pytest.approx(1e4 * (mid - 99.0) / mid)
    assert values["cluster_ask_size_ratio"] == pytest.approx(6.0)
    assert values["cluster_ask_px_dist_bps"] == pytest.approx(1e4 * (100.6 - mid) / mid)


def test_breakout_through_resistance_is_flagged_then_forgotten() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder(ask_extra={4: 10.0}))  # resistance at 100.5
    assert feed(analytics, 1_000, ladder(best_bid=100.2))["cluster_breakout_up"] == 0.0
    values = feed(analytics, 2_000, ladder(best_bid=100.5))
    assert values["cluster_breakout_up"] == 1.0
    assert values["cluster_breakout_down"] == 0.0
    analytics.on_clock(7_000)
    assert analytics.as_dict()["cluster_breakout_up"] == 0.0


def test_order_placed_and_pulled_behind_the_touch_is_one_spoof_event() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder())
    feed(analytics, 1_000, ladder(bid_extra={10: 20.0}))
    values = feed(analytics, 2_500, ladder())
    assert values["spoof_bid_events_60s"] == 1.0
    assert values["spoof_ask_events_60s"] == 0.0
    assert values["spoof_events_60s"] == 1.0
    assert values["layering_bid"] == 0.0
    analytics.on_clock(62_500)
    assert analytics.as_dict()["spoof_events_60s"] == 0.0


@pytest.mark.parametrize(
    ("trade_price", "pulled_at", "expected"),
    [
        (None, 2_000, 1.0),
        (99.0, 2_000, 0.0),  # a taker sell at the level may have filled it
        (98.5, 2_000, 0.0),  # a sell through it, too
        (99.5, 2_000, 1.0),  # a sell above it did not reach it
        (None, 7_000, 0.0),  # lived longer than spoof_max_life_ms: an ordinary cancel
    ],
)
def test_spoof_needs_a_short_untraded_life(
    trade_price: float | None, pulled_at: int, expected: float
) -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder())
    feed(analytics, 1_000, ladder(bid_extra={10: 20.0}))
    if trade_price is not None:
        analytics.on_trade(1_500, trade_price, 0.5, False)
    assert feed(analytics, pulled_at, ladder())["spoof_bid_events_60s"] == expected


def test_large_order_the_market_reaches_is_no_spoof() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder(ask_extra={5: 20.0}))  # large ask at 100.6
    feed(analytics, 500, ladder(best_bid=100.5, ask_extra={0: 20.0}))  # now the best ask
    assert feed(analytics, 1_000, ladder(best_bid=100.5))["spoof_ask_events_60s"] == 0.0


def test_three_spoofed_prices_on_one_side_are_layering() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder())
    feed(analytics, 100, ladder(ask_extra={5: 20.0, 8: 20.0, 12: 20.0}))
    values = feed(analytics, 600, ladder())
    assert values["spoof_ask_events_60s"] == 3.0
    assert values["layering_ask"] == 1.0
    assert values["layering_bid"] == 0.0
    analytics.on_clock(10_600)
    assert analytics.as_dict()["layering_ask"] == 0.0


def test_level_traded_through_three_times_while_holding_is_absorption() -> None:
    analytics = BookAnalytics()
    book = ladder(bid_extra={0: 2.0})
    feed(analytics, 0, book)
    for k in range(3):  # 6 sold into a best bid that shows 2 and refills
        analytics.on_trade(100 + 10 * k, 100.0, 2.0, False)
        feed(analytics, 105 + 10 * k, book)
    values = analytics.as_dict()
    assert values["absorption_bid_ratio"] == pytest.approx(3.0)
    assert values["absorption_bid"] == 1.0
    assert values["absorption_ask"] == 0.0
    assert feed(analytics, 200, ladder(best_bid=99.9))["absorption_bid"] == 0.0  # gave way


def test_absorption_ignores_buys_and_other_prices_and_ages_out() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder(bid_extra={0: 2.0}))
    analytics.on_trade(10, 100.0, 4.0, True)  # a taker buy does not hit the bid
    analytics.on_trade(20, 99.9, 4.0, False)  # not the best bid
    assert analytics.as_dict()["absorption_bid_ratio"] == 0.0
    analytics.on_trade(30, 100.0, 8.0, False)
    assert analytics.as_dict()["absorption_bid_ratio"] == pytest.approx(4.0)
    analytics.on_clock(10_030)
    assert analytics.as_dict()["absorption_bid_ratio"] == 0.0


def test_trade_levels_find_support_resistance_and_poc() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder())
    for ts, price, size in ((1, 99.5, 2.0), (2, 99.5, 3.0), (3, 100.5, 3.0), (4, 100.04, 1.0)):
        analytics.on_trade(ts, price, size, ts % 2 == 0)
    values = analytics.as_dict()
    mid = 100.05
    assert values["trade_poc_dist_bps_60s"] == pytest.approx(1e4 * (99.5 - mid) / mid)
    assert values["trade_poc_share_60s"] == pytest.approx(5 / 9)
    assert values["trade_support_dist_bps_60s"] == pytest.approx(1e4 * (mid - 99.5) / mid)
    assert values["trade_resistance_dist_bps_60s"] == pytest.approx(1e4 * (100.5 - mid) / mid)
    assert values["trade_resistance_share_60s"] == pytest.approx(3 / 9)
    analytics.on_clock(60_003)
    values = analytics.as_dict()
    assert values["trade_poc_share_60s"] == 1.0  # only the trade at ts=4 is left
    analytics.on_clock(60_004)
    assert analytics.as_dict()["trade_poc_share_60s"] == 0.0


def test_reset_book_forgets_watched_orders() -> None:
    analytics = BookAnalytics()
    feed(analytics, 0, ladder(bid_extra={10: 20.0}))
    analytics.reset_book()
    assert feed(analytics, 500, ladder())["spoof_bid_events_60s"] == 0.0


def test_no_event_reads_zeros() -> None:
    assert set(BookAnalytics().values()) == {0.0}


@pytest.mark.parametrize(
    "bad",
    [
        {"levels": 2},
        {"touch_levels": 50},
        {"cluster_multiple": 1.0},
        {"layering_window_ms": 120_000},
        {"layering_min_levels": 1},
        {"trade_bucket_bps": 0.0},
        {"unknown": 1},
    ],
)
def test_config_refuses_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AnalyticsConfig.model_validate(bad)
