"""The risk engine end to end: decisions with their orders, pending orders, trips, commands."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.trading import T0, account, instrument, position, signal
from tradestream.core.errors import BadInputError
from tradestream.core.orders import ORDER_LINK_ID_PATTERN, order_link_id_for
from tradestream.core.risk import (
    Correlations,
    InvalidTradingStateError,
    KillSwitch,
    OrderRef,
    RiskConfig,
    RiskEngine,
    RiskOutcome,
    decision_id,
)
from tradestream.schemas.account import AccountState
from tradestream.schemas.orders import CancelOrder, OrderType, PlaceOrder, Side, TimeInForce
from tradestream.schemas.trading import (
    KillSwitchTrigger,
    KillSwitchTripped,
    ResetKillSwitch,
    RiskDecision,
    SetTradingState,
    Signal,
    TradingState,
    TripKillSwitch,
)

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
BTC, ETH, SOL = instrument("BTCUSDT"), instrument("ETHUSDT"), instrument("SOLUSDT")
EMPTY = account()
LOSING = account(position("BTCUSDT", "10", "100", mark="40"))  # 600 down on 10000: 6 %


def engine(**config: object) -> RiskEngine:
    return RiskEngine(RiskConfig.model_validate(config))


def decided(outcome: RiskOutcome) -> RiskDecision:
    assert outcome.decision is not None
    return outcome.decision


def trip(command_id: str = "c-trip") -> TripKillSwitch:
    return TripKillSwitch(command_id=command_id, reason="ops", actor="alice", issued_ts_ms=T0)


def reset(episode: int, command_id: str = "c-reset") -> ResetKillSwitch:
    return ResetKillSwitch(
        command_id=command_id, reason="checked", actor="alice", issued_ts_ms=T0, episode=episode
    )


def test_an_approved_signal_gets_a_qty_and_a_market_order_derived_from_it() -> None:
    wish = signal(entry="100", signal_id="momentum-BTCUSDT-1")

    outcome = engine().evaluate(wish, EMPTY, BTC, T0)

    decision, order = outcome.decision, outcome.order
    assert decision is not None
    assert order is not None
    assert (decision.approved, decision.rule, decision.qty, decision.price) == (
        True,
        "approved",
        D("1.000"),
        D(100),
    )
    assert decision.decision_id == order.command_id == decision_id("momentum-BTCUSDT-1")
    assert (order.order_type, order.time_in_force, order.reduce_only) == (
        OrderType.MARKET,
        TimeInForce.IOC,
        False,
    )
    assert (order.signal_id, order.strategy, order.side, order.qty) == (
        "momentum-BTCUSDT-1",
        "momentum",
        BUY,
        D("1.000"),
    )
    assert decision.order_link_id == order_link_id_for(order)
    assert ORDER_LINK_ID_PATTERN.fullmatch(decision.order_link_id)
    assert outcome.all_commands() == (order,)


def test_the_same_signal_gets_the_same_answer_anywhere() -> None:
    wish = signal(signal_id="s-1")

    assert engine().evaluate(wish, EMPTY, BTC, T0) == engine().evaluate(wish, EMPTY, BTC, T0)


def test_a_signal_decided_before_is_answered_again_as_a_duplicate() -> None:
    risk = engine(max_open_positions=1)
    wish = signal(signal_id="s-1")
    first = risk.evaluate(wish, EMPTY, BTC, T0)

    again = risk.evaluate(wish, EMPTY, BTC, T0 + 5)

    assert again.duplicate
    assert again.decision == first.decision
    assert again.order == first.order
    assert len(risk.pending_orders()) == 1


def test_a_refused_signal_names_the_rule_and_places_nothing() -> None:
    outcome = engine(max_position_notional_usdt=150).evaluate(signal(notional=200), EMPTY, BTC, T0)

    assert outcome.order is None
    assert (decided(outcome).approved, decided(outcome).rule) == (False, "max_position_notional")
    assert decided(outcome).qty is None
    assert "limit 150 USDT" in decided(outcome).reason


def test_an_approved_order_counts_until_the_account_shows_it() -> None:
    risk = engine(max_open_positions=1)
    first = risk.evaluate(signal(symbol="BTCUSDT"), EMPTY, BTC, T0)

    blocked = risk.evaluate(signal(symbol="ETHUSDT"), EMPTY, ETH, T0 + 1)
    assert decided(first).order_link_id is not None
    assert decided(blocked).rule == "max_open_positions"

    assert risk.release(decided(first).order_link_id)
    allowed = risk.evaluate(signal(symbol="ETHUSDT"), EMPTY, ETH, T0 + 2)
    assert decided(allowed).approved


def test_a_filled_entry_is_not_added_to_when_one_entry_per_symbol_is_allowed() -> None:
    risk = engine()
    risk.evaluate(signal(), EMPTY, BTC, T0)
    filled = account(position("BTCUSDT", "1", "100", ts=T0 + 1))

    add = risk.evaluate(signal(), filled, BTC, T0 + 2)

    assert risk.pending_orders() == ()
    assert decided(add).rule == "max_positions_per_symbol"


def test_the_reference_price_is_given_or_the_signal_entry_or_the_mark() -> None:
    risk = engine()
    held = account(position("BTCUSDT", "-1", "100", mark="125"))

    nothing = risk.evaluate(signal(entry=None), EMPTY, BTC, T0)
    given = risk.evaluate(signal(entry=None), EMPTY, BTC, T0, price=D(50))
    marked = risk.evaluate(signal(BUY, entry=None, reduce_only=True), held, BTC, T0)

    assert decided(nothing).rule == "no_price"
    assert decided(given).qty == D(2)
    assert decided(marked).price == D(125)


def test_a_signal_with_another_symbols_instrument_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="ETHUSDT"):
        engine().evaluate(signal(symbol="BTCUSDT"), EMPTY, ETH, T0)


def test_an_entry_against_a_position_flips_it_in_one_order() -> None:
    held = account(position("BTCUSDT", "2", "100"))

    outcome = engine().evaluate(signal(SELL), held, BTC, T0)

    assert outcome.order is not None
    assert (outcome.order.side, outcome.order.qty, outcome.order.reduce_only) == (
        SELL,
        D("3.000"),
        False,
    )
    assert "flips" in decided(outcome).reason


def test_an_opening_order_carries_the_signals_stop_and_take_profit() -> None:
    wish = signal(entry="100", stop="95", take_profit="110")

    order = engine().evaluate(wish, EMPTY, BTC, T0).order

    assert order is not None
    assert (order.stop_loss, order.take_profit) == (D(95), D(110))


@pytest.mark.parametrize(
    ("wish", "held"),
    [
        (signal(entry="100"), EMPTY),  # the signal gave none
        (  # levels on a close would protect nothing
            signal(SELL, entry="100", stop="105", take_profit="90", reduce_only=True),
            account(position("BTCUSDT", "2", "100")),
        ),
    ],
)
def test_an_order_without_levels_or_that_only_reduces_carries_none(
    wish: Signal, held: AccountState
) -> None:
    order = engine().evaluate(wish, held, BTC, T0).order

    assert order is not None
    assert (order.stop_loss, order.take_profit, order.atr) == (None, None, None)


@pytest.mark.parametrize(
    ("config", "indicators", "atr"),
    [
        ({}, {"atr": 0.4, "rsi": 61.0}, D("0.4")),  # the strategies' key
        ({"sizing": {"atr_indicator": "atr14"}}, {"atr14": 1.25, "atr": 9.0}, D("1.25")),
        ({}, {"rsi": 61.0}, None),  # the signal gave none
        ({}, {"atr": 0.0}, None),  # not a distance
        ({}, {"atr": -0.4}, None),
    ],
)
def test_an_opening_order_carries_the_signals_positive_atr(
    config: dict[str, object], indicators: dict[str, float], atr: Decimal | None
) -> None:
    wish = signal(entry="100", indicators=indicators)

    order = engine(**config).evaluate(wish, EMPTY, BTC, T0).order

    assert order is not None
    assert order.atr == atr


def test_a_reduce_only_order_carries_no_atr() -> None:
    wish = signal(SELL, entry="100", reduce_only=True, indicators={"atr": 0.4})

    order = engine().evaluate(wish, account(position("BTCUSDT", "2", "100")), BTC, T0).order

    assert order is not None
    assert (order.reduce_only, order.atr) == (True, None)


def test_reducing_refuses_entries_and_approves_reduce_only_closes() -> None:
    risk = engine()
    held = account(position("BTCUSDT", "2", "100"))
    changed = risk.on_command(
        SetTradingState(
            command_id="c-1", reason="maint", actor="bob", issued_ts_ms=T0, state="reducing"
        ),
        held,
        T0,
    )

    entry = risk.evaluate(signal(symbol="ETHUSDT"), held, ETH, T0)
    close = risk.evaluate(signal(SELL, reduce_only=True), held, BTC, T0)

    assert changed.events[0].to_state is TradingState.REDUCING
    assert decided(entry).rule == "trading_state"
    assert close.order is not None
    assert close.order.reduce_only
    assert close.order.qty == D(2)
    assert decided(close).trading_state is TradingState.REDUCING


def test_a_daily_loss_trips_cancels_open_orders_and_closes_everything() -> None:
    risk = engine()
    entry = risk.evaluate(signal(symbol="ETHUSDT"), EMPTY, ETH, T0)
    assert decided(entry).order_link_id is not None

    halt = risk.on_account(LOSING, T0 + 1, open_orders=[OrderRef("BTCUSDT", "sar-1")])

    assert [type(e) for e in halt.events] == [KillSwitchTripped]
    assert halt.events[0].episode == 1
    assert halt.events[0].actor == "risk"
    cancels = [c for c in halt.commands if isinstance(c, CancelOrder)]
    closes = [c for c in halt.commands if isinstance(c, PlaceOrder)]
    assert {c.order_link_id for c in cancels} == {"sar-1", decided(entry).order_link_id}
    assert [(c.command_id, c.side, c.qty, c.reduce_only) for c in closes] == [
        ("ks-1-BTCUSDT", SELL, D(10), True)
    ]
    assert risk.trading_state is TradingState.HALTED
    assert risk.pending_orders() == ()


def test_while_halted_signals_are_refused_and_closes_are_not_repeated() -> None:
    risk = engine()
    risk.on_account(LOSING, T0)

    refused = risk.evaluate(signal(SELL, reduce_only=True), LOSING, BTC, T0 + 1)
    quiet = risk.on_account(LOSING, T0 + 2)

    assert decided(refused).rule == "trading_state"
    assert "episode 1" in decided(refused).reason
    assert refused.order is None
    assert quiet.events == ()
    assert quiet.commands == ()


def test_evaluating_on_a_breached_account_trips_and_refuses_at_once() -> None:
    outcome = engine().evaluate(signal(symbol="ETHUSDT"), LOSING, ETH, T0)

    assert [e.kind for e in outcome.events] == ["kill_switch_tripped"]
    assert [c.command_id for c in outcome.commands] == ["ks-1-BTCUSDT"]
    assert decided(outcome).rule == "trading_state"
    assert decided(outcome).trading_state is TradingState.HALTED


def test_a_drawdown_from_the_peak_trips() -> None:
    down = account(balance=8_000, day_open=8_000, peak=10_000)

    halt = engine().on_account(down, T0)

    assert [e.trigger for e in halt.events if isinstance(e, KillSwitchTripped)] == [
        KillSwitchTrigger.DRAWDOWN
    ]


def test_a_manual_trip_is_carried_out_once_per_command_id() -> None:
    risk = engine()
    held = account(position("ETHUSDT", "-1", "50"))

    first = risk.on_command(trip(), held, T0)
    again = risk.on_command(trip(), held, T0 + 1)

    assert first.events[0].actor == "alice"
    assert [c.command_id for c in first.commands] == ["ks-1-ETHUSDT"]
    assert again.duplicate
    assert again.events == ()
    assert again.commands == ()


def test_a_reset_must_name_the_current_episode() -> None:
    risk = engine()
    risk.on_command(trip(), EMPTY, T0)

    with pytest.raises(InvalidTradingStateError, match="current episode is 1"):
        risk.on_command(reset(episode=2), EMPTY, T0 + 1)
    resumed = risk.on_command(reset(episode=1), EMPTY, T0 + 2)

    assert resumed.events[0].to_state is TradingState.ACTIVE
    assert risk.trading_state is TradingState.ACTIVE


def test_after_a_reset_limits_count_from_the_reset_equity() -> None:
    risk = engine()
    risk.on_account(LOSING, T0)  # equity 9400: episode 1
    risk.on_command(reset(episode=1), LOSING, T0 + 1)

    calm = risk.on_account(LOSING, T0 + 2)
    worse_by_5_percent = account(position("BTCUSDT", "10", "100", mark="40", realized="-470"))
    worse = risk.on_account(worse_by_5_percent, T0 + 3)

    assert calm.events == ()
    assert worse.events
    assert worse.events[0].episode == 2


def test_a_restored_halted_switch_keeps_the_engine_halted() -> None:
    tripped = KillSwitch().trip(KillSwitchTrigger.MANUAL, "before the restart", "alice", T0)
    risk = RiskEngine(RiskConfig(), kill_switch=KillSwitch.restore(tripped))

    outcome = risk.evaluate(signal(), EMPTY, BTC, T0)

    assert decided(outcome).rule == "trading_state"


def test_orders_per_minute_are_counted_on_the_time_given() -> None:
    risk = engine(max_orders_per_minute=2, max_positions_per_symbol=5)

    answers = [decided(risk.evaluate(signal(), EMPTY, BTC, T0 + i)) for i in range(3)]
    later = decided(risk.evaluate(signal(), EMPTY, BTC, T0 + 60_001))

    assert [d.rule for d in answers] == [
        "approved",
        "approved",
        "orders_per_minute",
    ]
    assert later.approved


def test_a_fresh_correlation_matrix_applies_to_the_next_signal() -> None:
    held = account(position("ETHUSDT", "1"), position("SOLUSDT", "1"), position("AVAXUSDT", "1"))
    unknown = decided(engine().evaluate(signal(), held, BTC, T0))
    risk = engine()

    risk.update_correlations(
        Correlations({("BTCUSDT", s): 0.8 for s in ("ETHUSDT", "SOLUSDT", "AVAXUSDT")})
    )
    refused = decided(risk.evaluate(signal(), held, BTC, T0))

    assert unknown.approved
    assert refused.rule == "correlation"
