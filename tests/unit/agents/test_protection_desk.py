"""The protection desk: engines per symbol over a table, their clock, and what they publish."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tests.unit.core.protection.factories import HOUR, SECOND, T0, config
from tradestream.agents.protection_desk import ProtectionDesk, Step
from tradestream.agents.protection_records import records_of, stop_command
from tradestream.core.clock import MarketClock
from tradestream.core.errors import BadInputError
from tradestream.core.protection import ProtectionConfig, ProtectionRule, SuppressReason
from tradestream.exchange.paper import RECORDED_INSTRUMENTS
from tradestream.schemas.account import PositionChanged
from tradestream.schemas.exchange import InstrumentInfo
from tradestream.schemas.market import BookTop
from tradestream.schemas.orders import (
    OrderFilled,
    OrderRejected,
    OrderType,
    Side,
    StopTrigger,
    TimeInForce,
)
from tradestream.schemas.protection import (
    AgedPhaseChanged,
    ProtectionCloseEnded,
    ProtectionCloseSent,
    ProtectionCloseSuppressed,
    ProtectionStopMoved,
)
from tradestream.streams.partitioning import partition_for_key

D = Decimal
SYMBOL = "SOLUSDT"  # tick 0.01, qty step 0.1
TRAILING = config(take_profit={"partials": []}, breakeven={"enabled": False},
                  aged={"enabled": False})  # fmt: skip


class Table(dict[str, Any]):
    """A dict that counts writes, standing in for the Faust table."""

    writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


def instruments(symbol: str) -> InstrumentInfo | None:
    rules = RECORDED_INSTRUMENTS.get(symbol)
    return None if rules is None else rules.info(symbol)


def make_desk(
    settings: ProtectionConfig = TRAILING, table: Table | None = None, wall: Wall | None = None
) -> tuple[ProtectionDesk, Table, Wall]:
    table = Table() if table is None else table
    wall = wall or Wall()
    desk = ProtectionDesk(settings, table, clock=MarketClock(wall), instruments=instruments,
                          partitions=4)  # fmt: skip
    return desk, table, wall


def top(mid: str, ts: int, symbol: str = SYMBOL, status: str = "valid") -> BookTop:
    price = D(mid)
    return BookTop(symbol=symbol, status=status, bid_px=str(price - D("0.005")), bid_sz="100",
                   ask_px=str(price + D("0.005")), ask_sz="100", u=1, seq=1, exchange_ts_ms=ts,
                   cts_ms=ts, recv_ts_ms=ts, produced_ts_ms=ts)  # fmt: skip


def position(
    size: str, entry: str = "100", opened: int = T0, updated: int = T0, **levels: str
) -> PositionChanged:
    amount = D(size)
    return PositionChanged(symbol=SYMBOL, size=amount, entry_price=D(entry) if amount else 0,
                           mark_price=D(entry), opened_ts_ms=opened if amount else None,
                           updated_ts_ms=updated, cause=f"e-{updated}",
                           **{k: D(v) for k, v in levels.items()})  # fmt: skip


def opened(desk: ProtectionDesk, size: str = "10") -> None:
    desk.on_book_top(top("100", T0))
    step = desk.on_position(position(size))
    assert step is not None
    desk.save(SYMBOL)


def trail_and_cross(desk: ProtectionDesk) -> Step:
    desk.on_book_top(top("102", T0 + SECOND))  # +2 %: trails 1 % behind, at 100.98
    step = desk.on_book_top(top("100.90", T0 + 2 * SECOND))
    assert step is not None
    return step


def test_a_retrace_through_the_trailing_stop_closes_at_market_with_the_core_s_id() -> None:
    desk, _, _ = make_desk()
    opened(desk)

    step = trail_and_cross(desk)

    (close,) = step.outcome.closes
    order = close.to_order()
    assert (close.rule, close.trigger_price, close.observed_price) == (
        ProtectionRule.TRAILING_STOP, D("100.98"), D("100.90"))  # fmt: skip
    assert (order.order_type, order.time_in_force, order.reduce_only, order.side, order.qty) == (
        OrderType.MARKET, TimeInForce.IOC, True, Side.SELL, D(10))  # fmt: skip
    assert step.price_ts_ms == T0 + 2 * SECOND
    sent = [r for r in records_of(step) if isinstance(r, ProtectionCloseSent)]
    assert [(r.close_id, r.rule, r.priority, r.entry_price) for r in sent] == [
        (close.close_id, "trailing_stop", 10, D(100))]  # fmt: skip


def test_the_signals_levels_on_the_position_replace_the_configured_distances() -> None:
    desk, _, _ = make_desk()
    desk.on_book_top(top("100", T0))

    opening = desk.on_position(position("10", stop_loss="98.5", take_profit="101.2"))
    reduced = desk.on_position(position("4", updated=T0 + 1))  # names no levels: keeps them
    below = desk.on_book_top(top("101.19", T0 + SECOND))
    step = desk.on_book_top(top("101.21", T0 + 2 * SECOND))

    assert opening is not None
    (stop,) = opening.outcome.exchange_stops
    assert stop.stop_price == D("97.52")  # 1 % beyond the signal's 98.5, not the 2 % default's
    assert reduced is not None
    assert reduced.view is not None
    assert (reduced.view.stop_loss, reduced.view.take_profit) == (D("98.5"), D("101.2"))
    assert below is None or below.outcome.closes == ()
    assert step is not None
    (close,) = step.outcome.closes
    assert (close.rule, close.trigger_price, close.qty) == (
        ProtectionRule.TAKE_PROFIT, D("101.2"), D(4))  # fmt: skip


@pytest.mark.parametrize(
    ("levels", "trail"),
    [
        # 2 ATRs (0.666) behind the best 101.60 is 100.934, up to the tick for a long: 100.94.
        ({"atr": "0.333"}, D("100.94")),
        # No ATR: 0.5 % of 101.60 (0.508) behind, 101.092 up to the tick.
        ({}, D("101.10")),
    ],
)
def test_the_signals_atr_on_the_position_sets_the_trailing_distance(
    levels: dict[str, str], trail: Decimal
) -> None:
    desk, _, _ = make_desk()
    desk.on_book_top(top("100", T0))
    desk.on_position(position("10", **levels))
    reduced = desk.on_position(position("4", updated=T0 + 1))  # names no ATR: keeps it

    step = desk.on_book_top(top("101.60", T0 + SECOND))  # +1.6 %: the trail activates
    crossed = desk.on_book_top(top(str(trail - D("0.01")), T0 + 2 * SECOND))

    assert reduced is not None
    assert reduced.view is not None
    assert reduced.view.atr == (D(levels["atr"]) if levels else None)
    assert step is not None
    assert [u.stop_price for u in step.outcome.stop_updates] == [trail]
    assert crossed is not None
    (close,) = crossed.outcome.closes
    assert (close.rule, close.trigger_price) == (ProtectionRule.TRAILING_STOP, trail)


def test_trailing_ratchets_are_recorded_once_per_step_not_per_tick() -> None:
    desk, _, _ = make_desk()
    opened(desk)

    steps = [desk.on_book_top(top(f"{D('101.60') + D('0.05') * i}", T0 + (1 + i) * SECOND))
             for i in range(29)]  # fmt: skip

    moved = [r for s in steps if s is not None for r in records_of(s)
             if isinstance(r, ProtectionStopMoved) and r.rule == "trailing_stop"]  # fmt: skip
    ratchets = sum(len(s.outcome.stop_updates) for s in steps if s is not None)
    assert [(m.where, m.stop_price) for m in moved] == [
        ("client", D("101.10")), ("client", D("101.35")), ("client", D("101.63")),
        ("client", D("101.88"))]  # fmt: skip
    assert ratchets > 10


def test_a_restarted_desk_resumes_from_the_table_and_does_not_close_twice() -> None:
    desk, table, wall = make_desk()
    opened(desk)
    (close,) = trail_and_cross(desk).outcome.closes
    desk.save(SYMBOL)

    restarted, _, _ = make_desk(table=table, wall=wall)
    again = restarted.on_book_top(top("100.80", T0 + 3 * SECOND))

    assert again is not None
    assert again.outcome.closes == ()
    assert [s.reason for s in again.outcome.suppressed] == [SuppressReason.CLOSE_IN_FLIGHT]
    state = restarted.gauges()
    assert state[0]["trailing_stop"] == 1
    assert close.close_id in str(table[SYMBOL])


def test_forget_rebuilds_each_engine_from_the_table_on_first_use() -> None:
    desk, _, _ = make_desk()
    opened(desk)
    trail_and_cross(desk)
    desk.save(SYMBOL)

    desk.forget()

    assert desk.gauges()[0] == {}  # nothing in memory until the symbol is used again
    step = desk.on_book_top(top("100.70", T0 + 3 * SECOND))
    assert step is not None
    assert [s.reason for s in step.outcome.suppressed] == [SuppressReason.CLOSE_IN_FLIGHT]


def test_the_end_of_our_close_is_recorded_with_its_price_and_pnl_and_others_are_ignored() -> None:
    desk, _, _ = make_desk()
    opened(desk)
    (close,) = trail_and_cross(desk).outcome.closes
    other = OrderRejected(order_link_id="momentum-1", symbol=SYMBOL, occurred_at_ms=T0,
                          reason="not ours")  # fmt: skip
    filled = OrderFilled(order_link_id=close.close_id, symbol=SYMBOL, occurred_at_ms=T0,
                         exec_id="x1", side=Side.SELL, exec_qty=D(10), exec_price=D("100.89"),
                         exec_fee=D("0.5"), is_maker=False, cum_qty=D(10),
                         avg_price=D("100.89"), leaves_qty=D(0))  # fmt: skip

    assert desk.on_order_event(other) is None
    step = desk.on_order_event(filled)

    assert step is not None
    (ended,) = [r for r in records_of(step) if isinstance(r, ProtectionCloseEnded)]
    assert (ended.close_id, ended.result, ended.avg_price, ended.realized_pnl_pct, ended.full) == (
        close.close_id, "filled", D("100.89"), D("0.8900"), True)  # fmt: skip


def test_an_older_position_change_is_a_redelivery_and_changes_nothing() -> None:
    desk, _, _ = make_desk()
    opened(desk)
    assert desk.on_position(position("0", updated=T0 + 5 * SECOND)) is not None  # closed

    replayed = desk.on_position(position("10", updated=T0))

    assert replayed is None
    assert desk.gauges()[0] == {}


def test_a_symbol_without_instrument_rules_cannot_be_protected() -> None:
    desk, _, _ = make_desk()
    change = position("10").model_copy(update={"symbol": "XYZUSDT"})

    with pytest.raises(BadInputError, match="no instrument rules for XYZUSDT"):
        desk.on_position(change)


def test_invalid_or_one_sided_tops_are_no_price() -> None:
    desk, _, _ = make_desk()
    one_sided = msgspec.structs.replace(top("100", T0), bid_px="0")

    assert desk.on_book_top(top("100", T0, status="invalid")) is None
    assert desk.on_book_top(one_sided) is None
    assert SYMBOL not in desk.health()["symbols"]


def test_the_state_is_written_when_it_changes_and_the_price_every_five_seconds() -> None:
    desk, table, wall = make_desk()
    opened(desk)
    writes = table.writes
    for i in range(1, 4):  # the same price: nothing but the price changes
        wall.ms = T0 + i * SECOND
        desk.on_book_top(top("100", T0 + i * SECOND))
        desk.save(SYMBOL)
    assert table.writes == writes
    wall.ms = T0 + 6 * SECOND
    desk.on_book_top(top("100", T0 + 6 * SECOND))
    desk.save(SYMBOL)
    assert table.writes == writes + 1
    desk.on_book_top(top("101.60", T0 + 7 * SECOND))  # the trail activates: written at once
    desk.save(SYMBOL)
    assert table.writes == writes + 2


def test_a_tick_runs_the_timed_rules_of_its_partition_only() -> None:
    settings = config(staleness={"alert": {"degraded_s": 1, "critical_s": 2},
                                 "emergency_after_s": 60})  # fmt: skip
    desk, _, wall = make_desk(settings)
    opened(desk)
    mine = partition_for_key(SYMBOL.encode(), [0, 1, 2, 3])
    wall.ms = T0 + 3 * SECOND

    assert desk.on_tick((mine + 1) % 4) == []
    (step,) = desk.on_tick(mine)

    (alert,) = step.outcome.alerts
    assert (alert.symbol, alert.freshness, alert.positions_affected) == (
        SYMBOL, "critical", (f"{SYMBOL}:{T0}",))  # fmt: skip
    assert desk.health()["status"] == "critical"


def test_the_market_clock_carries_aged_positions_through_their_phases() -> None:
    settings = config(stop_loss={"distance": "0.5"}, take_profit={"partials": []},
                      breakeven={"enabled": False}, trailing={"enabled": False})  # fmt: skip
    desk, _, _ = make_desk(settings)
    opened(desk)
    mine = partition_for_key(SYMBOL.encode(), [0, 1, 2, 3])

    desk.on_book_top(top("95", T0 + 3 * HOUR + SECOND))
    (detected,) = desk.on_tick(mine)
    desk.on_book_top(top("95", T0 + 11 * HOUR + SECOND))
    progressive = desk.on_book_top(top("95", T0 + 11 * HOUR + 2 * SECOND))

    moves = [r for r in records_of(detected) if isinstance(r, AgedPhaseChanged)]
    assert [(m.from_phase, m.to_phase) for m in moves] == [(None, "detected"),
                                                           ("detected", "grace")]  # fmt: skip
    assert moves[0].at_ms >= T0 + 3 * HOUR + SECOND
    assert progressive is not None
    assert desk.gauges()[1] == {"progressive": 1}


def test_while_halted_protection_only_records_why() -> None:
    desk, _, _ = make_desk()
    opened(desk)
    desk.set_halted(True)

    step = trail_and_cross(desk)

    assert step.outcome.closes == ()
    (held,) = [r for r in records_of(step) if isinstance(r, ProtectionCloseSuppressed)]
    assert (held.rule, held.suppress_reason) == ("trailing_stop", "kill_switch")


def test_a_suppression_repeated_at_every_evaluation_is_recorded_once_a_minute() -> None:
    desk, _, _ = make_desk()
    opened(desk)
    desk.set_halted(True)
    trail_and_cross(desk)

    repeats = [desk.on_book_top(top("100.8", T0 + (3 + i) * SECOND)) for i in range(3)]
    later = desk.on_book_top(top("100.7", T0 + 70 * SECOND))

    assert all(s is not None and s.suppressed == () for s in repeats)
    assert later is not None
    assert len(later.suppressed) == 1


def test_the_exchange_stop_becomes_a_set_trading_stop_and_a_record() -> None:
    desk, _, _ = make_desk(config(take_profit={"partials": []}))
    desk.on_book_top(top("100", T0))

    step = desk.on_position(position("10"))

    assert step is not None
    (stop,) = step.outcome.exchange_stops
    command = stop_command(stop)
    assert (command.symbol, command.stop_loss, command.trigger_by, command.command_id) == (
        SYMBOL, D("97.02"), StopTrigger.MARK, stop.command_id)  # fmt: skip
    moved = [r for r in records_of(step) if isinstance(r, ProtectionStopMoved)]
    assert [(m.where, m.stop_price) for m in moved] == [("exchange", D("97.02"))]
