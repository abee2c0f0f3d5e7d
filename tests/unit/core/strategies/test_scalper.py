"""The order-book scalper on crafted feature vectors: when it fires, when it stays silent, ids."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from tradestream.core.errors import BadInputError
from tradestream.core.strategies.scalper import OrderBookScalper, OrderBookScalperConfig
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import Signal

SYMBOL = "BTCUSDT"
T0 = 1_754_774_817_000


def vector(**overrides: float) -> dict[str, float]:
    """Return a feature vector on which a buy passes every check, with ``overrides`` applied."""
    values = {
        "mid": 100.0,
        "spread": 0.01,
        "spread_bps": 1.0,
        "microprice": 100.004,  # pull (100.004 - 100) / 0.005 = 0.8
        "imbalance_5": 0.8,
        "ofi_5_sum_1s": 10.0,
        "bid_depth_5": 60.0,
        "ask_depth_5": 40.0,  # OFI 10 / 100 = 0.1 of depth
        "realized_vol_60s": 5.0,
        "cluster_breakout_up": 1.0,
        "cluster_breakout_down": 0.0,
        "absorption_bid": 0.0,
        "absorption_ask": 0.0,
        "spoof_bid_events_60s": 0.0,
        "spoof_ask_events_60s": 0.0,
        "layering_bid": 0.0,
        "layering_ask": 0.0,
        "imbalance_1": 0.3,  # read by nobody: extra features are ignored
    }
    values.update(overrides)
    return values


def sell_vector(**overrides: float) -> dict[str, float]:
    values = vector(
        microprice=99.996,
        imbalance_5=-0.8,
        ofi_5_sum_1s=-10.0,
        cluster_breakout_up=0.0,
        cluster_breakout_down=1.0,
    )
    values.update(overrides)
    return values


def test_fires_a_buy_with_everything_it_used() -> None:
    scalper = OrderBookScalper()
    signal = scalper.on_features(SYMBOL, T0, vector())
    assert isinstance(signal, Signal)
    assert signal.signal_id == f"orderbook_scalper-{SYMBOL}-{T0}"
    assert signal.side is Side.BUY
    assert signal.created_ts_ms == T0
    assert 0.0 < signal.strength <= 1.0
    assert str(signal.entry_price) == "100.005"  # the best ask
    # stop 1.5 volatilities = 7.5 bps below, take-profit twice that above
    assert float(signal.stop_loss or 0) == pytest.approx(100.005 * (1 - 7.5e-4))
    assert float(signal.take_profit or 0) == pytest.approx(100.005 * (1 + 15e-4))
    assert signal.indicators["imbalance_5"] == 0.8
    assert signal.indicators["imbalance_threshold"] == pytest.approx(0.7)
    assert "imbalance_5 0.80 over 0.70" in signal.reason
    assert "cluster breakout" in signal.reason


def test_fires_a_mirrored_sell() -> None:
    signal = OrderBookScalper().on_features(SYMBOL, T0, sell_vector())
    assert signal is not None
    assert signal.side is Side.SELL
    assert str(signal.entry_price) == "99.995"  # the best bid
    assert signal.take_profit is not None
    assert signal.stop_loss is not None
    assert signal.entry_price is not None
    assert signal.take_profit < signal.entry_price < signal.stop_loss


def test_absorption_of_the_supporting_level_is_a_trigger_too() -> None:
    features = vector(cluster_breakout_up=0.0, absorption_bid=1.0)
    signal = OrderBookScalper().on_features(SYMBOL, T0, features)
    assert signal is not None
    assert "absorption" in signal.reason


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"spread_bps": 3.0}, "spread"),
        ({"realized_vol_60s": 0.1}, "volatility"),
        ({"realized_vol_60s": 80.0}, "volatility"),
        ({"imbalance_5": 0.65}, "imbalance"),
        ({"realized_vol_60s": 25.0}, "imbalance"),  # adaptive: 0.8 is not enough when noisy
        ({"microprice": 100.0}, "microprice"),
        ({"ofi_5_sum_1s": -1.0}, "ofi"),
        ({"ofi_5_sum_1s": 2.0}, "ofi"),
        ({"cluster_breakout_up": 0.0}, "trigger"),
        ({"cluster_breakout_down": 1.0, "cluster_breakout_up": 0.0}, "trigger"),
        ({"spoof_bid_events_60s": 3.0}, "spoofing"),
        ({"layering_bid": 1.0}, "spoofing"),
        ({"mid": 0.0, "spread": 0.0}, "no_book"),
    ],
)
def test_stays_silent_when_a_check_fails(overrides: dict[str, float], reason: str) -> None:
    scalper = OrderBookScalper()
    assert scalper.on_features(SYMBOL, T0, vector(**overrides)) is None
    assert scalper.skipped == {reason: 1}


def test_threshold_adapts_to_volatility() -> None:
    scalper = OrderBookScalper()
    assert scalper.imbalance_threshold(2.0) == pytest.approx(0.7)
    assert scalper.imbalance_threshold(15.0) == pytest.approx(0.8)
    assert scalper.imbalance_threshold(500.0) == pytest.approx(0.9)


def test_no_trigger_needed_when_configured() -> None:
    config = OrderBookScalperConfig(require_trigger=False)
    assert OrderBookScalper(config=config).on_features(SYMBOL, T0, vector(cluster_breakout_up=0.0))


def test_cooldown_is_per_symbol() -> None:
    scalper = OrderBookScalper()
    assert scalper.on_features(SYMBOL, T0, vector())
    assert scalper.on_features("ETHUSDT", T0 + 100, vector())
    assert scalper.on_features(SYMBOL, T0 + 4_999, vector()) is None
    assert scalper.skipped == {"cooldown": 1}
    assert scalper.on_features(SYMBOL, T0 + 5_000, vector())


def test_older_vector_is_skipped() -> None:
    scalper = OrderBookScalper()
    assert scalper.on_features(SYMBOL, T0, vector(spread_bps=5.0)) is None
    assert scalper.on_features(SYMBOL, T0 - 1, vector()) is None
    assert scalper.skipped == {"spread": 1, "out_of_order": 1}


def test_missing_feature_is_bad_input() -> None:
    features = vector()
    del features["realized_vol_60s"], features["layering_ask"]
    with pytest.raises(BadInputError, match="layering_ask, realized_vol_60s"):
        OrderBookScalper().on_features(SYMBOL, T0, features)


def random_stream(seed: int, n: int = 400) -> list[tuple[str, int, dict[str, float]]]:
    rng = random.Random(seed)
    stream = []
    for k in range(n):
        side = vector if rng.random() < 0.5 else sell_vector
        features = side(
            imbalance_5=rng.uniform(-1, 1),
            realized_vol_60s=rng.uniform(0, 20),
            spread_bps=rng.uniform(0, 3),
            cluster_breakout_up=float(rng.random() < 0.5),
            cluster_breakout_down=float(rng.random() < 0.5),
        )
        stream.append((rng.choice((SYMBOL, "ETHUSDT")), T0 + 250 * k, features))
    return stream


def run(stream: list[tuple[str, int, dict[str, float]]]) -> list[Signal | None]:
    scalper = OrderBookScalper()
    return [scalper.on_features(symbol, ts, features) for symbol, ts, features in stream]


def test_replay_makes_the_same_signals() -> None:
    stream = random_stream(7)
    first, second = run(stream), run(stream)
    assert first == second
    ids = [s.signal_id for s in first if s is not None]
    assert len(ids) > 5
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("k", [1, 57, 200, 399])
def test_no_look_ahead(k: int) -> None:
    stream = random_stream(11)
    assert run(stream[:k]) == run(stream)[:k]


@pytest.mark.parametrize(
    "bad",
    [
        {"imbalance_threshold": 1.0},
        {"imbalance_threshold": 0.8, "imbalance_cap": 0.75},
        {"min_volatility_bps": 60.0},
        {"cooldown_ms": 0},
        {"ofi_min": 0.0},
        {"max_spread_bps": -1.0},
        {"unknown": 1},
    ],
)
def test_config_refuses_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OrderBookScalperConfig.model_validate(bad)


@pytest.mark.parametrize("name", ["", "has space", "x" * 50])
def test_name_must_make_valid_ids(name: str) -> None:
    with pytest.raises(ValueError, match=r"name|over"):
        OrderBookScalper(name).on_features(SYMBOL, T0, vector())


def test_feature_names_follow_the_config() -> None:
    config = OrderBookScalperConfig(imbalance_depth=10, ofi_depth=10, ofi_window_ms=10_000)
    names = config.feature_names()
    assert names["imbalance"] == "imbalance_10"
    assert names["ofi"] == "ofi_10_sum_10s"
    assert names["volatility"] == "realized_vol_60s"
