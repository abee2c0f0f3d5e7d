"""The trailing stop: activation, callback, ladder, ATR, exact to the tick, gaps, only ratchets."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.core.protection.factories import (
    SECOND,
    SYMBOL,
    T0,
    D,
    closes,
    opened,
    price,
    protection,
    trailing_only,
    view,
    walk,
)
from tradestream.core.protection import (
    ProtectionEngine,
    ProtectionOutcome,
    ProtectionRule,
    SuppressReason,
    TrailingStopConfig,
    close_id,
)
from tradestream.core.protection.trailing import trailing_distance, trailing_level
from tradestream.schemas.orders import OrderType, Side

TRAIL = ProtectionRule.TRAILING_STOP
UP_THEN_BACK = ["101.00", "101.60", "101.90", "102.00", "102.37", "103.00", "102.50"]


def stops(outcomes: list[ProtectionOutcome]) -> list[Decimal]:
    return [u.stop_price for o in outcomes for u in o.stop_updates if u.rule is TRAIL]


def test_up_then_retrace_closes_at_the_trailing_stop_to_the_tick() -> None:
    engine = opened(trailing_only())

    outcomes = walk(engine, [*UP_THEN_BACK, "101.98", "101.97"])

    # +1.6 %: 101.60 - 0.5 % = 101.092 -> 101.10 (up: never give back more than 0.5 %);
    # 101.90 -> 101.3905 -> 101.40; at +2 % the ladder widens to 1 %: 100.98 and 101.3463 stay
    # below 101.40, so the stop holds; 103.00 - 1 % = 101.97.
    assert stops(outcomes) == [D("101.10"), D("101.40"), D("101.97")]
    assert closes(outcomes[:-1]) == []
    (close,) = outcomes[-1].closes
    assert (close.rule, close.trigger_price, close.observed_price) == (
        TRAIL,
        D("101.97"),
        D("101.97"),
    )
    assert (close.qty, close.fraction, close.side, close.priority) == (D(1), D(1), Side.SELL, 10)


def test_a_coarse_tick_rounds_the_stop_up_for_a_long_and_down_for_a_short() -> None:
    long = opened(trailing_only(), view(tick="0.05"))
    short = opened(trailing_only(), view(Side.SELL, tick="0.05"))

    walk(long, ["101.60", "103.00"])
    walk(short, ["98.40", "97.00"])

    # long: 101.092 -> 101.10, 101.97 -> 102.00; short: 98.892 -> 98.85, 97 + 0.97 = 97.97 -> 97.95
    assert protection(long).trailing_stop == D("102.00")
    assert protection(short).trailing_stop == D("97.95")


def test_a_short_trails_below_and_closes_when_the_price_rises_back() -> None:
    engine = opened(trailing_only(), view(Side.SELL))

    outcomes = walk(engine, ["98.40", "98.80", "98.89"])

    assert stops(outcomes) == [D("98.89")]  # 98.40 + 0.492 = 98.892 -> 98.89 (down)
    (close,) = closes(outcomes)
    assert (close.side, close.trigger_price) == (Side.BUY, D("98.89"))


def test_a_gap_through_the_stop_closes_at_market_and_beats_the_stop_loss() -> None:
    engine = opened(trailing_only(breakeven={"enabled": True}))
    walk(engine, UP_THEN_BACK)

    outcome = engine.on_price(price("99.50", T0 + 60 * SECOND), T0 + 60 * SECOND)

    (close,) = outcome.closes
    assert (close.rule, close.trigger_price, close.observed_price) == (
        TRAIL,
        D("101.97"),
        D("99.50"),
    )
    assert "gap of 247 ticks" in close.reason
    order = close.to_order()
    assert (order.order_type, order.price, order.reduce_only) == (OrderType.MARKET, None, True)
    # The breakeven stop (100.11) was crossed too; the trailing stop outranks it.
    (loser,) = outcome.suppressed
    assert (loser.decision.rule, loser.reason) == (
        ProtectionRule.STOP_LOSS,
        SuppressReason.LOWER_PRIORITY,
    )


def test_an_atr_sets_the_distance_and_the_ladder_still_floors_it() -> None:
    config = TrailingStopConfig()
    position = view()

    # ATR 0.4 x 2 = 0.80 beats 0.5 % of 101.60 (0.508); at 103 the 1 % rung (1.03) beats 0.80.
    assert trailing_level(position, config, D("101.60"), atr=D("0.4")) == D("100.80")
    assert trailing_level(position, config, D("103.00"), atr=D("0.4")) == D("101.97")
    assert trailing_level(position, config, D("101.49")) is None  # below +1.5 %: not active


def test_the_engine_keeps_the_atr_so_a_timer_does_not_tighten_an_atr_trail() -> None:
    engine = opened(trailing_only())

    engine.on_price(price("101.60", T0 + SECOND), T0 + SECOND, atr=D("0.4"))
    engine.on_timer(T0 + 2 * SECOND)

    assert protection(engine).trailing_stop == D("100.80")


def test_the_opening_signals_atr_trails_the_position_and_one_fed_with_prices_overrides_it() -> None:
    engine = opened(trailing_only(), replace(view(), atr=D("0.4")))

    engine.on_price(price("101.60", T0 + SECOND), T0 + SECOND)
    by_signal = protection(engine).trailing_stop
    engine.on_price(price("101.61", T0 + 2 * SECOND), T0 + 2 * SECOND, atr=D("0.3"))

    assert by_signal == D("100.80")  # 2 x 0.4 behind 101.60, not 0.5 % (101.10)
    assert protection(engine).trailing_stop == D("101.01")  # 2 x 0.3 behind 101.61


def test_a_state_saved_before_the_atr_restores_without_one() -> None:
    engine = opened(trailing_only(), replace(view(), atr=D("0.4")))
    saved = engine.export(SYMBOL)
    assert saved is not None
    assert saved["position"]["view"]["atr"] == "0.4"
    del saved["position"]["view"]["atr"]

    restored = ProtectionEngine.restore(trailing_only(), [saved])
    restored.on_price(price("101.60", T0 + SECOND), T0 + SECOND)

    assert protection(restored).view.atr is None
    assert protection(restored).trailing_stop == D("101.10")  # the callback's distance


def test_a_position_view_refuses_an_atr_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="ATR must be positive"):
        replace(view(), atr=D(0))


@pytest.mark.parametrize(
    ("profit", "distance"),
    [("0.015", "0.005"), ("0.0199", "0.005"), ("0.02", "0.01"), ("0.05", "0.015"), ("0.2", "0.02")],
)
def test_the_ladder_widens_the_distance_with_the_profit(profit: str, distance: str) -> None:
    best = D(100)
    assert trailing_distance(TrailingStopConfig(), best, D(profit), None) == best * D(distance)


def test_the_trailing_close_id_derives_from_the_rule_and_the_episode() -> None:
    first = closes(walk(opened(trailing_only()), [*UP_THEN_BACK, "101.97"]))
    again = closes(walk(opened(trailing_only()), [*UP_THEN_BACK, "101.97"]))

    assert first[0].close_id == again[0].close_id
    assert first[0].close_id == close_id("BTCUSDT", f"trailing_stop.BTCUSDT.{T0}", 0)
    assert first[0].key == f"trailing_stop.BTCUSDT.{T0}"
    assert len(first[0].close_id) <= 36


ticks = st.lists(st.integers(min_value=-300, max_value=300), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(ticks, st.sampled_from([Side.BUY, Side.SELL]), st.sampled_from(["0.01", "0.05", "0.5"]))
def test_the_stop_only_ratchets_sits_on_the_tick_and_stays_behind_the_best_price(
    moves: list[int], side: Side, tick: str
) -> None:
    engine = opened(trailing_only(stop_loss={"distance": "0.9"}), view(side, tick=tick))
    step, level = D(tick), D(100)
    seen: list[Decimal] = []
    for i, move in enumerate(moves):
        level = max(level + move * D("0.01"), D("80"))
        ts = T0 + (i + 1) * SECOND
        engine.on_price(price(level, ts), ts)
        state = engine.protection("BTCUSDT")
        assert state is not None
        if state.trailing_stop is None:
            continue
        stop = state.trailing_stop
        assert stop % step == 0
        assert stop < state.best_price if side is Side.BUY else stop > state.best_price
        if seen:
            assert stop >= seen[-1] if side is Side.BUY else stop <= seen[-1]
        seen.append(stop)


def test_a_ratchet_is_recorded_once_per_record_step_not_at_every_tick() -> None:
    engine = opened(trailing_only(trailing={"record_step": "0.0025"}))  # 0.25 of the 100 entry
    climb = [f"{D('101.60') + D('0.05') * i}" for i in range(29)]  # 101.60 to 103.00

    outcomes = walk(engine, climb)

    moves = [u for o in outcomes for u in o.stop_updates if u.rule is TRAIL]
    recorded = [u.stop_price for u in moves if u.recorded]
    assert len(moves) > 2 * len(recorded)
    assert recorded[0] == moves[0].stop_price == D("101.10")  # the activation, always
    assert all(b - a >= D("0.25") for a, b in pairwise(recorded))
    skipped = [u.stop_price for u in moves if not u.recorded]
    assert all(s - max(r for r in recorded if r < s) < D("0.25") for s in skipped)
    assert protection(engine).trailing_recorded == recorded[-1]
