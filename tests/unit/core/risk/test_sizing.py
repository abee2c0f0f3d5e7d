"""Sizing per mode, rounded down to the lot step, refused under the instrument's minimums."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import account, context, instrument, position, signal
from tradestream.core.risk import Refused, Sizer, SizingConfig, SizingMode, fit_qty, propose
from tradestream.schemas.orders import Side

D = Decimal
BTC = instrument()
EQUITY = D(10_000)


def sizer(mode: SizingMode = SizingMode.FIXED_NOTIONAL, **config: object) -> Sizer:
    return Sizer(SizingConfig.model_validate({"mode": mode, **config}), D("0.02"))


@pytest.mark.parametrize(
    ("mode", "entry", "stop", "indicators", "qty"),
    [
        (SizingMode.FIXED_NOTIONAL, "30000", None, {}, "0.003"),  # 100 / 30000 = 0.00333
        (SizingMode.FIXED_NOTIONAL, "65000.5", None, {}, "0.001"),  # 0.001538 rounded down
        (SizingMode.PERCENT_EQUITY, "100", None, {}, "5.000"),  # 5 % of 10000 at 100
        (SizingMode.RISK_PER_TRADE, "100", "95", {}, "40.000"),  # 200 at risk / 5 per unit
        (SizingMode.RISK_PER_TRADE, "100", "97.3", {}, "74.074"),  # 200 / 2.7 = 74.0740...
        (SizingMode.VOLATILITY, "100", None, {"atr": 2.5}, "40.000"),  # stop 2 x ATR away
    ],
)
def test_each_mode_sizes_and_rounds_down_to_the_lot_step(
    mode: SizingMode, entry: str, stop: str | None, indicators: dict[str, float], qty: str
) -> None:
    wish = signal(entry=entry, stop=stop, indicators=indicators)

    sized = sizer(mode).size(wish, D(entry), EQUITY, BTC)

    assert sized == D(qty)
    assert isinstance(sized, Decimal)
    assert sized.as_tuple().exponent == -3


def test_a_signal_notional_overrides_the_mode() -> None:
    manual = signal(entry=None, notional=100)

    assert sizer(SizingMode.RISK_PER_TRADE).size(manual, D(250), EQUITY, BTC) == D("0.4")


def test_strength_scales_the_mode_when_configured() -> None:
    weak = signal(strength=0.25)

    assert sizer(scale_by_strength=True).size(weak, D(100), EQUITY, BTC) == D("0.25")
    assert sizer().size(weak, D(100), EQUITY, BTC) == D(1)


@pytest.mark.parametrize(
    ("mode", "wish", "equity", "rule", "fragment"),
    [
        (SizingMode.RISK_PER_TRADE, signal(), EQUITY, "sizing", "needs the signal's stop_loss"),
        (SizingMode.VOLATILITY, signal(), EQUITY, "sizing", "positive 'atr'"),
        (SizingMode.VOLATILITY, signal(indicators={"atr": 0.0}), EQUITY, "sizing", "'atr'"),
        (SizingMode.PERCENT_EQUITY, signal(), D(0), "sizing", "equity is 0.00"),
        (SizingMode.RISK_PER_TRADE, signal(stop=90), D(-5), "sizing", "equity is -5.00"),
    ],
)
def test_sizing_without_what_the_mode_needs_is_refused(
    mode: SizingMode, wish: object, equity: Decimal, rule: str, fragment: str
) -> None:
    refused = sizer(mode).size(wish, D(100), equity, BTC)  # type: ignore[arg-type]

    assert isinstance(refused, Refused)
    assert refused.rule == rule
    assert fragment in refused.reason


def test_a_qty_that_rounds_under_the_minimum_is_refused() -> None:
    lots = instrument("ETHUSDT", step="0.01", min_qty="0.01")

    refused = fit_qty(D("0.0099"), D(1000), lots)

    assert isinstance(refused, Refused)
    assert refused.rule == "min_qty"
    assert "rounds to 0.00, below the minimum 0.01" in refused.reason


def test_an_order_under_the_minimum_value_is_refused() -> None:
    lots = instrument("DOGEUSDT", step="1", min_qty="1", min_notional="5")

    refused = fit_qty(D("1.9"), D(3), lots)

    assert isinstance(refused, Refused)
    assert refused.rule == "min_notional"
    assert "3.00 USDT is below the minimum 5" in refused.reason
    assert fit_qty(D("1.9"), D(5), lots) == D(1)


def test_a_qty_above_the_instrument_maximum_is_capped() -> None:
    assert fit_qty(D(250), D(1), instrument(step="1", min_qty="1", max_qty="100")) == D(100)


def test_a_reduce_only_signal_closes_the_whole_position_on_the_other_side() -> None:
    held = context(account(position("BTCUSDT", "-0.7", "100")))

    order = propose(signal(Side.BUY, reduce_only=True), held, BTC, D(100), sizer())

    assert not isinstance(order, Refused)
    assert (order.qty, order.reduce_only, order.size_after, order.increases) == (
        D("0.7"),
        True,
        D(0),
        False,
    )


def test_a_reduce_only_signal_with_a_notional_closes_part_of_it() -> None:
    held = context(account(position("BTCUSDT", "2", "100")))

    order = propose(signal(Side.SELL, reduce_only=True, notional=55), held, BTC, D(100), sizer())

    assert not isinstance(order, Refused)
    assert order.qty == D("0.550")
    tiny = propose(signal(Side.SELL, reduce_only=True, notional="0.01"), held, BTC, D(100), sizer())
    assert isinstance(tiny, Refused)
    assert tiny.rule == "min_qty"


@pytest.mark.parametrize("size", ["0", "1"])
def test_a_reduce_only_signal_needs_a_position_on_the_other_side(size: str) -> None:
    held = context(account(position("BTCUSDT", size, "100")))

    refused = propose(signal(Side.BUY, reduce_only=True), held, BTC, D(100), sizer())

    assert isinstance(refused, Refused)
    assert refused.rule == "nothing_to_reduce"


def test_an_entry_against_a_position_flips_it_in_one_order() -> None:
    held = context(account(position("BTCUSDT", "2", "100")))

    order = propose(signal(Side.SELL), held, BTC, D(100), sizer())

    assert not isinstance(order, Refused)
    assert (order.qty, order.size_after, order.flips, order.reduce_only) == (
        D(3),
        D(-1),
        True,
        False,
    )
