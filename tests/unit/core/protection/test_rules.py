"""Stop-loss, take-profit (partial then trail the rest), breakeven and time stop."""

from __future__ import annotations

import pytest

from tests.unit.core.protection.factories import (
    HOUR,
    SECOND,
    T0,
    D,
    closes,
    config,
    opened,
    price,
    protection,
    result,
    view,
    walk,
)
from tradestream.core.protection import (
    CloseResultKind,
    ProtectionConfig,
    ProtectionRule,
)
from tradestream.schemas.orders import Side

R = ProtectionRule
QUIET = {"aged": {"enabled": False}, "exchange_stop": {"enabled": False}}


def quiet(**sections: object) -> ProtectionConfig:
    return config(**{**QUIET, **sections})


@pytest.mark.parametrize(
    ("side", "stop", "path", "trigger"),
    [
        (Side.BUY, None, ["99.00", "98.01", "98.00"], "98.00"),  # 2 % below entry
        (Side.SELL, None, ["101.00", "101.99", "102.00"], "102.00"),  # 2 % above entry
        (Side.BUY, "99.255", ["99.30", "99.26"], "99.26"),  # the signal's stop, rounded up
    ],
)
def test_the_stop_loss_closes_all_at_its_level(
    side: Side, stop: str | None, path: list[str], trigger: str
) -> None:
    engine = opened(quiet(), view(side, stop=stop))

    outcomes = walk(engine, path)

    assert closes(outcomes[:-1]) == []
    (close,) = outcomes[-1].closes
    assert (close.rule, close.trigger_price, close.qty) == (R.STOP_LOSS, D(trigger), D(1))


def test_a_gap_through_the_stop_loss_closes_at_market() -> None:
    (close,) = closes(walk(opened(quiet()), ["99.00", "95.00"]))

    assert (close.trigger_price, close.observed_price) == (D("98.00"), D("95.00"))
    assert "gap of 300 ticks" in close.reason
    assert close.to_order().price is None


def test_the_stop_moves_to_breakeven_once_half_a_percent_up() -> None:
    engine = opened(quiet(take_profit={"partials": []}))

    (armed, _, back) = walk(engine, ["100.50", "100.20", "100.11"])

    (update,) = armed.stop_updates
    assert (update.rule, update.previous, update.stop_price) == (R.STOP_LOSS, D(98), D("100.11"))
    (close,) = back.closes
    assert (close.rule, close.trigger_price) == (R.STOP_LOSS, D("100.11"))
    assert "breakeven stop" in close.reason


def test_the_signal_take_profit_closes_everything() -> None:
    engine = opened(quiet(), view(take_profit="101.2"))

    (close,) = closes(walk(engine, ["101.00", "101.25"]))

    assert (close.rule, close.trigger_price, close.fraction) == (R.TAKE_PROFIT, D("101.20"), D(1))


def test_take_profit_one_closes_half_then_the_trailing_stop_takes_the_rest() -> None:
    engine = opened(quiet(), view(qty="0.5"))

    up = walk(engine, ["101.00", "101.60", "102.00", "102.10"])
    (tp1,) = closes(up)
    assert (tp1.rule, tp1.stage, tp1.qty, tp1.fraction) == (
        R.TAKE_PROFIT,
        "tp1",
        D("0.25"),
        D("0.5"),
    )
    assert tp1.trigger_price == D("102.00")
    assert [s.reason for s in up[-1].suppressed] == ["close_in_flight"]  # TP1 again, in flight

    engine.on_close_result(result(tp1, CloseResultKind.FILLED, T0 + 5 * SECOND), T0 + 5 * SECOND)
    early = engine.on_price(price("102.20", T0 + 5 * SECOND), T0 + 5 * SECOND)
    assert early.closes == ()  # filled, but the position still says 0.5: no second close
    engine.on_position("BTCUSDT", view(qty="0.25"), T0 + 5 * SECOND)
    assert protection(engine).partials_done == 1

    rest = walk(engine, ["103.00", "102.50", "101.97"], start=T0 + 6 * SECOND)
    (trail,) = closes(rest)
    assert (trail.rule, trail.qty, trail.trigger_price) == (R.TRAILING_STOP, D("0.25"), D("101.97"))
    assert trail.key != tp1.key


def test_a_partial_too_small_to_split_is_skipped_and_the_trail_keeps_it_all() -> None:
    engine = opened(quiet(), view(qty="0.001"))

    assert closes(walk(engine, ["101.60", "102.00", "102.50"])) == []


def test_the_time_stop_closes_after_the_holding_time() -> None:
    engine = opened(quiet(time_stop={"max_holding_hours": "2"}))
    before, limit = T0 + 2 * HOUR - SECOND, T0 + 2 * HOUR
    engine.on_price(price(100, before), before)

    assert engine.on_timer(before).closes == ()
    (close,) = engine.on_timer(limit).closes

    assert (close.rule, close.priority, close.trigger_price) == (R.TIME_STOP, 50, None)
