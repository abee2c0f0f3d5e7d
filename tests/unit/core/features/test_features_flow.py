"""Trade-flow features against hand cases and a brute-force reference over random trades."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestream.core.errors import BadInputError
from tradestream.core.features import FeatureConfig, FeatureEngine

CONFIG = FeatureConfig(trade_windows_ms=(1_000, 5_000))
Trade = tuple[int, float, float, bool]


def engine_with_book(ts: int = 0) -> FeatureEngine:
    engine = FeatureEngine(CONFIG)
    engine.on_book(ts, [99.0], [1.0], [101.0], [1.0])
    return engine


def test_windows_summarise_the_trades_inside_them() -> None:
    engine = engine_with_book()
    engine.on_trade(100, 100.0, 2.0, True)
    engine.on_trade(200, 101.0, 1.0, True)
    engine.on_trade(900, 99.0, 1.0, False)
    f = engine.as_dict()
    assert f["trade_rate_1s"] == 3.0
    assert f["trade_rate_5s"] == pytest.approx(3 / 5)
    assert f["signed_volume_1s"] == 2.0
    assert f["volume_delta_1s"] == pytest.approx(200.0 + 101.0 - 99.0)
    assert f["trade_imbalance_1s"] == pytest.approx((3.0 - 1.0) / 4.0)
    assert f["trade_vwap_1s"] == pytest.approx((200.0 + 101.0 + 99.0) / 4.0)


def test_trades_leave_a_window_exactly_one_window_later() -> None:
    engine = engine_with_book()
    engine.on_trade(100, 100.0, 2.0, True)
    engine.on_clock(1_099)
    assert engine.as_dict()["trade_rate_1s"] == 1.0
    engine.on_clock(1_100)
    f = engine.as_dict()
    assert f["trade_rate_1s"] == 0.0
    assert f["signed_volume_1s"] == 0.0
    assert f["trade_rate_5s"] == pytest.approx(1 / 5)


def test_empty_window_reports_zero_flow_and_the_mid_as_vwap() -> None:
    f = engine_with_book().as_dict()
    assert (f["trade_rate_1s"], f["trade_imbalance_1s"], f["signed_volume_1s"]) == (0, 0, 0)
    assert f["trade_vwap_1s"] == 100.0


def test_vwap_is_zero_before_any_book_or_trade() -> None:
    engine = FeatureEngine(CONFIG)
    engine.on_clock(5)
    assert engine.as_dict()["trade_vwap_1s"] == 0.0


@pytest.mark.parametrize(
    ("price", "size"),
    [
        (0.0, 1.0),
        (-1.0, 1.0),
        (100.0, 0.0),
        (100.0, -2.0),
        (math.nan, 1.0),
        (100.0, math.inf),
    ],
)
def test_rejects_a_trade_without_positive_finite_price_and_size(price: float, size: float) -> None:
    engine = engine_with_book()
    with pytest.raises(BadInputError, match="positive finite"):
        engine.on_trade(10, price, size, True)
    assert engine.as_dict()["trade_rate_1s"] == 0.0


def test_late_trade_is_recorded_at_the_clock() -> None:
    engine = engine_with_book(ts=2_000)
    engine.on_trade(1_500, 100.0, 1.0, False)  # stamped before the book: counted at 2 000
    engine.on_clock(2_999)
    assert engine.as_dict()["trade_rate_1s"] == 1.0
    assert engine.as_dict()["trade_age_ms"] == 999.0


@settings(max_examples=200, deadline=None)
@given(
    trades=st.lists(
        st.tuples(st.integers(0, 800), st.floats(1.0, 1e5), st.floats(1e-4, 1e3), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    delay=st.integers(0, 6_000),
)
def test_matches_brute_force_on_random_trades(trades: list[Trade], delay: int) -> None:
    engine = engine_with_book()
    ts = 0
    stamped: list[Trade] = []
    for gap, price, size, is_buy in trades:
        ts += gap
        engine.on_trade(ts, price, size, is_buy)
        stamped.append((ts, price, size, is_buy))
    now = ts + delay
    engine.on_clock(now)
    f = engine.as_dict()
    # Windowed sums err in proportion to the totals of the longest window (ring.py).
    size_scale = 1e-12 * math.fsum(t[2] for t in stamped)
    notional_scale = 1e-12 * math.fsum(t[1] * t[2] for t in stamped)
    for window, name in ((1_000, "1s"), (5_000, "5s")):
        inside = [t for t in stamped if t[0] > now - window]
        buy = math.fsum(t[2] for t in inside if t[3])
        sell = math.fsum(t[2] for t in inside if not t[3])
        notional = math.fsum(t[1] * t[2] for t in inside)
        assert f[f"trade_rate_{name}"] == pytest.approx(len(inside) * 1_000 / window)
        assert f[f"signed_volume_{name}"] == pytest.approx(buy - sell, abs=size_scale)
        assert -1.0 <= f[f"trade_imbalance_{name}"] <= 1.0
        if inside:
            volume = buy + sell
            assert f[f"trade_vwap_{name}"] == pytest.approx(
                notional / volume, rel=1e-9, abs=(notional_scale + size_scale * 1e5) / volume
            )
            assert f[f"trade_imbalance_{name}"] == pytest.approx(
                (buy - sell) / volume, abs=4 * size_scale / volume
            )
        else:
            assert f[f"trade_vwap_{name}"] == 100.0
