"""The engine: one close in flight, retries, then a critical failure, ids, restarts, hard stop."""

from __future__ import annotations

import json

from tests.unit.core.protection.factories import (
    HOUR,
    MINUTE,
    SECOND,
    T0,
    D,
    closes,
    config,
    opened,
    price,
    protection,
    result,
    trailing_only,
    view,
    walk,
)
from tradestream.core.orders.client_id import order_link_id_for
from tradestream.core.protection import (
    AgedPhase,
    CloseResultKind,
    PriceKind,
    ProtectionEngine,
    ProtectionOutcome,
    ProtectionRule,
    SuppressReason,
)
from tradestream.schemas.orders import Side

R = ProtectionRule
REJECTED = CloseResultKind.REJECTED
ONLY_AGED_AND_TRAIL = config(
    stop_loss={"distance": "0.5"},
    take_profit={"partials": []},
    breakeven={"enabled": False},
    exchange_stop={"enabled": False},
)


def reasons(outcome: ProtectionOutcome) -> list[tuple[ProtectionRule, SuppressReason]]:
    return [(s.decision.rule, s.reason) for s in outcome.suppressed]


def test_a_close_in_flight_suppresses_every_new_close_until_it_is_answered() -> None:
    engine = opened(trailing_only())
    first, again, lower = walk(engine, ["97.90", "97.80", "97.00"])

    (close,) = first.closes
    assert again.closes == lower.closes == ()
    assert reasons(lower) == [(R.STOP_LOSS, SuppressReason.CLOSE_IN_FLIGHT)]
    assert close.close_id == order_link_id_for(close.to_order())
    assert len(close.close_id) <= 36


def test_failed_closes_retry_after_one_three_five_seconds_then_cannot_close() -> None:
    engine = opened(trailing_only())
    now = T0 + SECOND
    (close,) = engine.on_price(price("97", now), now).closes
    sent = [close]
    for wait in (1, 3, 5):
        now += 100
        assert engine.on_close_result(result(sent[-1], REJECTED, now), now).empty
        early = engine.on_price(price("97", now + wait * SECOND - 1), now + wait * SECOND - 1)
        assert reasons(early) == [(R.STOP_LOSS, SuppressReason.RETRY_WAIT)]
        now += wait * SECOND
        (retry,) = engine.on_price(price("97", now), now).closes
        sent.append(retry)

    failed = engine.on_close_result(result(sent[-1], REJECTED, now + 100), now + 100)
    stuck = engine.on_price(price("96", now + 20 * SECOND), now + 20 * SECOND)

    assert [c.leg for c in sent] == [0, 1, 2, 3]
    assert len({c.close_id for c in sent}) == 4
    (failure,) = failed.failures
    assert (failure.rule, failure.attempts, failure.close_id) == (R.STOP_LOSS, 4, sent[-1].close_id)
    assert reasons(stuck) == [(R.STOP_LOSS, SuppressReason.CANNOT_CLOSE)]
    # The position changed (someone acted): closing is tried afresh, as the next leg.
    later = now + 21 * SECOND
    (fresh,) = engine.on_position("BTCUSDT", view(qty="0.5"), later).closes
    assert (fresh.leg, fresh.qty) == (4, D("0.5"))


def test_an_unanswered_close_times_out_and_is_retried() -> None:
    engine = opened(trailing_only())
    (close,) = engine.on_price(price("97", T0 + SECOND), T0 + SECOND).closes

    assert engine.on_timer(T0 + 10 * SECOND).closes == ()  # 9 s: still in flight
    timed_out = engine.on_timer(T0 + 11 * SECOND)
    assert reasons(timed_out) == [(R.STOP_LOSS, SuppressReason.RETRY_WAIT)]
    (retry,) = engine.on_price(price("97", T0 + 12 * SECOND), T0 + 12 * SECOND).closes

    assert (retry.key, retry.leg) == (close.key, 1)


def test_a_late_result_of_an_older_close_changes_nothing() -> None:
    engine = opened(trailing_only())
    (close,) = engine.on_price(price("97", T0 + SECOND), T0 + SECOND).closes
    engine.on_timer(T0 + 11 * SECOND)  # timed out
    engine.on_price(price("97", T0 + 12 * SECOND), T0 + 12 * SECOND)  # leg 1 in flight

    late = engine.on_close_result(result(close, CloseResultKind.FILLED, T0 + 13 * SECOND), 0)

    state = engine.protection("BTCUSDT")
    assert late.empty
    assert state is not None
    assert state.closing.in_flight is not None
    assert state.closing.in_flight.leg == 1


def test_a_filled_close_holds_until_the_position_reports_it() -> None:
    engine = opened(trailing_only())
    (close,) = engine.on_price(price("97", T0 + SECOND), T0 + SECOND).closes
    engine.on_close_result(result(close, CloseResultKind.FILLED, T0 + 2 * SECOND), T0 + 2 * SECOND)

    waiting = engine.on_price(price("96", T0 + 3 * SECOND), T0 + 3 * SECOND)
    engine.on_position("BTCUSDT", None, T0 + 4 * SECOND)

    assert waiting.closes == ()
    assert reasons(waiting) == [(R.STOP_LOSS, SuppressReason.CLOSE_IN_FLIGHT)]
    assert "filled" in waiting.suppressed[0].detail
    assert engine.protection("BTCUSDT") is None


def test_a_filled_close_whose_report_is_late_is_released_without_a_failure() -> None:
    engine = opened(trailing_only())
    (close,) = engine.on_price(price("97", T0 + SECOND), T0 + SECOND).closes
    engine.on_close_result(result(close, CloseResultKind.FILLED, T0 + 2 * SECOND), T0 + 2 * SECOND)

    released = engine.on_timer(T0 + 11 * SECOND)

    (again,) = released.closes  # the position still says open: decided afresh, no wait
    assert (again.key, again.leg) == (close.key, 1)
    assert protection(engine).closing.failures == 0


def test_trailing_and_aged_firing_together_send_one_close_the_trailing_one() -> None:
    engine = opened(ONLY_AGED_AND_TRAIL)
    detected = T0 + 3 * HOUR
    engine.on_price(price("99", detected), detected)
    engine.on_timer(detected)  # aged, grace: closes at 100.11 or better
    t = detected + MINUTE
    (aged_close,) = engine.on_price(price("100.20", t), t).closes
    in_flight = engine.on_price(price("101.60", t + SECOND), t + SECOND)  # trail from 101.10
    engine.on_close_result(result(aged_close, REJECTED, t + 2 * SECOND), t + 2 * SECOND)

    both = engine.on_price(price("101.00", t + 3 * SECOND), t + 3 * SECOND)

    assert aged_close.rule is R.AGED_POSITION
    assert (in_flight.closes, in_flight.suppressed) == ((), ())  # aged is closing: it waits
    (close,) = both.closes
    assert (close.rule, close.trigger_price, close.leg) == (R.TRAILING_STOP, D("101.10"), 0)
    assert reasons(both) == [(R.AGED_POSITION, SuppressReason.LOWER_PRIORITY)]
    assert [(t.from_phase, t.to_phase) for t in both.aged_transitions] == [
        (AgedPhase.CLOSING, AgedPhase.GRACE)
    ]


def test_the_state_round_trips_through_json_mid_progressive_without_a_second_close() -> None:
    live = opened(ONLY_AGED_AND_TRAIL)
    now = T0
    while now <= T0 + 22 * HOUR + 45 * MINUTE:  # the close goes at 22:45 (see test_aged)
        outcome = live.on_price(price("93", now), now) + live.on_timer(now)
        now += 15 * MINUTE
    (close,) = outcome.closes
    saved = json.loads(json.dumps(live.export("BTCUSDT")))

    restored = ProtectionEngine.restore(ONLY_AGED_AND_TRAIL, [saved])
    restart = T0 + 22 * HOUR + 45 * MINUTE + 2 * SECOND
    after = restored.on_price(price("93", restart), restart) + restored.on_timer(restart)

    assert restored.export("BTCUSDT") == saved | _moved(saved, restart)
    assert (after.closes, after.suppressed) == ((), ())  # its close is in flight: aged waits
    state = restored.protection("BTCUSDT")
    assert state is not None
    assert state.aged is not None
    assert state.aged.phase is AgedPhase.CLOSING
    assert state.closing.in_flight is not None
    assert state.closing.in_flight.close_id == close.close_id
    # Unanswered past the timeout, it is retried as the next leg of the same cause.
    timed_out = restart + 10 * SECOND
    restored.on_timer(timed_out)
    retry_at = timed_out + SECOND  # the first retry waits a second
    (retry,) = restored.on_price(price("93", retry_at), retry_at).closes
    assert (retry.key, retry.leg) == (close.key, 1)


def test_a_restored_engine_decides_exactly_as_one_that_never_stopped() -> None:
    def drive(engine: ProtectionEngine, start: int, end: int) -> list[ProtectionOutcome]:
        return [
            engine.on_price(price("93", ts), ts) + engine.on_timer(ts)
            for ts in range(start, end, 15 * MINUTE)
        ]

    continuous = opened(ONLY_AGED_AND_TRAIL)
    stopped = opened(ONLY_AGED_AND_TRAIL)
    middle = T0 + 15 * HOUR  # four hours into the progressive phase
    drive(continuous, T0, middle)
    drive(stopped, T0, middle)
    restored = ProtectionEngine.restore(ONLY_AGED_AND_TRAIL, [stopped.export("BTCUSDT") or {}])

    expected = drive(continuous, middle, T0 + 24 * HOUR)
    actual = drive(restored, middle, T0 + 24 * HOUR)

    assert [o.closes for o in actual] == [o.closes for o in expected]
    assert [o.aged_transitions for o in actual] == [o.aged_transitions for o in expected]
    assert len(closes(actual)) >= 1


def test_the_exchange_stop_is_set_at_once_then_only_tightened_every_30_seconds() -> None:
    engine = ProtectionEngine(config(take_profit={"partials": []}, breakeven={"enabled": False}))

    (first,) = engine.on_position("BTCUSDT", view(), T0).exchange_stops
    ratchets = walk(engine, ["101.60", "103.00"], step=10 * SECOND)
    later = engine.on_timer(T0 + 31 * SECOND)

    assert (first.stop_price, first.previous, first.trigger_by) == (
        D("97.02"),
        None,
        PriceKind.MARK,
    )
    assert [s for o in ratchets for s in o.exchange_stops] == []  # within 30 s of the first
    (tightened,) = later.exchange_stops
    # The trailing stop 101.97, 1 % further away: 100.9503 -> 100.96 (up, to the tick).
    assert (tightened.stop_price, tightened.previous) == (D("100.96"), D("97.02"))
    assert engine.on_timer(T0 + 2 * MINUTE).exchange_stops == ()  # nothing tighter since


def test_a_short_gets_its_exchange_stop_above() -> None:
    engine = ProtectionEngine(config())

    (stop,) = engine.on_position("BTCUSDT", view(Side.SELL), T0).exchange_stops

    assert (stop.stop_price, stop.side) == (D("103.02"), Side.SELL)  # 102 x 1.01, down


def test_while_halted_the_kill_switch_closes_and_protection_only_counts() -> None:
    engine = opened(trailing_only())
    engine.set_halted(True)

    halted = engine.on_price(price("97", T0 + SECOND), T0 + SECOND)
    engine.set_halted(False)
    resumed = engine.on_price(price("97", T0 + 2 * SECOND), T0 + 2 * SECOND)

    assert reasons(halted) == [(R.STOP_LOSS, SuppressReason.KILL_SWITCH)]
    assert len(resumed.closes) == 1


def test_prices_of_other_kinds_and_older_prices_are_ignored() -> None:
    engine = opened(trailing_only())
    engine.on_price(price("99", T0 + 5 * SECOND), T0 + 5 * SECOND)

    mark = engine.on_price(price("97", T0 + 6 * SECOND, kind=PriceKind.MARK), T0 + 6 * SECOND)
    older = engine.on_price(price("97", T0 + 4 * SECOND), T0 + 6 * SECOND)

    assert mark.empty
    assert older.empty


def test_a_new_episode_starts_afresh_with_new_ids() -> None:
    engine = opened(trailing_only())
    (first,) = engine.on_price(price("97", T0 + SECOND), T0 + SECOND).closes

    # Closed and opened again at 100 before the price moved: the same stop-loss, a new episode.
    reopen = T0 + 10 * SECOND
    (second,) = engine.on_position("BTCUSDT", view(opened=reopen), reopen).closes

    assert (second.rule, second.leg, second.episode) == (R.STOP_LOSS, 0, reopen)
    assert second.close_id != first.close_id


def _moved(saved: dict[str, object], ts: int) -> dict[str, object]:
    # The only field a price moves in a restored engine: the last price.
    return {"price": {"symbol": "BTCUSDT", "price": "93", "kind": "last", "ts_ms": ts}}
