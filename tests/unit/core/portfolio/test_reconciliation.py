"""Reconciliation of one symbol: adopt unknown orders, ask about vanished ones, fix positions."""

from __future__ import annotations

from decimal import Decimal

from tradestream.core.portfolio.reconciliation import (
    ENDED_KEPT,
    RECENT_MS,
    KnownOrder,
    Mismatch,
    reconcile,
    track_order,
)
from tradestream.schemas.account import PositionState
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    OrderType,
    Side,
    TimeInForce,
)
from tradestream.schemas.reconciliation import ExchangeOrder, ExchangeSnapshot

SYMBOL = "BTCUSDT"
CONFIRM_MS = 5_000


def snapshot(at: int, *orders: str, size: str = "0", entry: str = "0") -> ExchangeSnapshot:
    listed = tuple(
        ExchangeOrder(order_link_id=link_id, side=Side.BUY, order_type=OrderType.LIMIT,
                      qty=Decimal("0.01"), price=Decimal(60000), status="New")
        for link_id in orders
    )  # fmt: skip
    return ExchangeSnapshot(symbol=SYMBOL, taken_at_ms=at, open_orders=listed,
                            position_size=Decimal(size), position_entry=Decimal(entry))  # fmt: skip


def long(size: str, entry: str = "65000") -> PositionState:
    return PositionState(symbol=SYMBOL, size=Decimal(size), entry_price=Decimal(entry),
                         mark_price=Decimal(entry), opened_ts_ms=1, updated_ts_ms=1)  # fmt: skip


def accepted(link_id: str, at: int) -> OrderAccepted:
    return OrderAccepted(order_link_id=link_id, symbol=SYMBOL, occurred_at_ms=at, side=Side.BUY,
                         order_type=OrderType.LIMIT, qty=Decimal("0.01"), price=Decimal(60000),
                         time_in_force=TimeInForce.GTC)  # fmt: skip


def test_an_order_open_at_the_exchange_that_we_never_sent_is_adopted_once_and_audited() -> None:
    flat = PositionState(symbol=SYMBOL)
    first = reconcile(snapshot(10_000, "manual-1"), flat, {}, None, confirm_after_ms=CONFIRM_MS)
    assert first.adopted["manual-1"].external
    assert first.adopted["manual-1"].adopted
    [audit] = first.corrections
    assert (audit.action, audit.subject, audit.before) == ("order_adopted", "manual-1", {})
    assert audit.after["external"] == "true"
    again = reconcile(snapshot(20_000, "manual-1"), flat, first.adopted, None,
                      confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert again.adopted == {}
    assert again.corrections == ()


def test_a_pushed_order_we_did_not_submit_is_adopted_but_ours_is_not() -> None:
    known: dict[str, KnownOrder] = {}
    track_order(known, OrderSubmitted(order_link_id="ours", symbol=SYMBOL, occurred_at_ms=1))
    track_order(known, accepted("ours", 2))
    track_order(known, accepted("theirs", 3))
    assert not known["ours"].external
    assert known["theirs"].external
    result = reconcile(snapshot(10_000, "ours", "theirs"), PositionState(symbol=SYMBOL), known,
                       None, confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert list(result.adopted) == ["theirs"]


def test_an_order_we_hold_open_that_the_exchange_no_longer_lists_is_asked_about() -> None:
    known = {"gone": KnownOrder("order_accepted", 1_000), "fresh": KnownOrder("order_submitted",
             10_000 - RECENT_MS + 1)}  # fmt: skip
    result = reconcile(snapshot(10_000), PositionState(symbol=SYMBOL), known, None,
                       confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert result.queries == ("gone",)  # the fresh one's news may still be on the way


def test_a_filled_or_ended_order_leaves_the_known_orders() -> None:
    known = {"a": KnownOrder("order_accepted", 1)}
    fill = OrderFilled(order_link_id="a", symbol=SYMBOL, occurred_at_ms=2, exec_id="e1",
                       side=Side.BUY, exec_qty=Decimal(1), exec_price=Decimal(1),
                       exec_fee=Decimal(0), is_maker=False, cum_qty=Decimal(1),
                       avg_price=Decimal(1), leaves_qty=Decimal(0))  # fmt: skip
    assert track_order(known, fill)
    assert known == {}


def test_a_position_difference_is_corrected_only_when_seen_twice_apart() -> None:
    ours = long("0.01")
    first = reconcile(snapshot(10_000, size="0.03", entry="64000"), ours, {}, None,
                      confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert first.position is None
    assert first.mismatch == Mismatch(Decimal("0.03"), Decimal("0.01"), 10_000)
    too_soon = reconcile(snapshot(12_000, size="0.03", entry="64000"), ours, {}, first.mismatch,
                         confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert too_soon.position is None
    assert too_soon.mismatch == first.mismatch
    confirmed = reconcile(snapshot(20_000, size="0.03", entry="64000"), ours, {},
                          first.mismatch, confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert confirmed.position is not None
    assert (confirmed.position.size, confirmed.position.entry_price) == (
        Decimal("0.03"),
        Decimal(64000),
    )
    [audit] = confirmed.corrections
    assert audit.before == {"size": "0.01", "entry_price": "65000"}
    assert audit.after == {"size": "0.03", "entry_price": "64000"}
    assert confirmed.mismatch is None


def test_snapshots_taken_before_the_last_fill_do_not_correct_the_position() -> None:
    # A restarted worker reads again the snapshots taken before the fill its table (restored
    # from the changelog) already holds: they show the position as it was, twice.
    ours = long("0.003")
    first = reconcile(snapshot(10_000), ours, {}, None, confirm_after_ms=CONFIRM_MS,
                      last_fill_ms=20_500)  # fmt: skip
    assert (first.position, first.mismatch, first.corrections) == (None, None, ())
    second = reconcile(snapshot(20_000), ours, {}, first.mismatch, confirm_after_ms=CONFIRM_MS,
                       last_fill_ms=20_500)  # fmt: skip
    assert (second.position, second.mismatch, second.corrections) == (None, None, ())
    held = snapshot(21_000, size="0.003", entry="65000")
    current = reconcile(held, ours, {}, second.mismatch, confirm_after_ms=CONFIRM_MS,
                        last_fill_ms=20_500)  # fmt: skip
    assert (current.position, current.mismatch) == (None, None)


def test_a_difference_seen_after_the_last_fill_is_still_corrected() -> None:
    ours = long("0.01")
    first = reconcile(snapshot(10_000), ours, {}, None, confirm_after_ms=CONFIRM_MS,
                      last_fill_ms=10_000)  # fmt: skip
    assert first.mismatch is not None
    confirmed = reconcile(snapshot(20_000), ours, {}, first.mismatch,
                          confirm_after_ms=CONFIRM_MS, last_fill_ms=10_000)  # fmt: skip
    assert confirmed.position is not None
    assert confirmed.position.size == 0


def test_a_difference_that_changes_between_looks_is_not_corrected() -> None:
    ours = long("0.01")
    first = reconcile(snapshot(10_000, size="0.02"), ours, {}, None, confirm_after_ms=CONFIRM_MS)
    moved = reconcile(snapshot(20_000, size="0.03"), ours, {}, first.mismatch,
                      confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert moved.position is None
    assert moved.mismatch is not None
    assert moved.mismatch.exchange_size == Decimal("0.03")
    agreed = reconcile(snapshot(30_000, size="0.01", entry="65000"), ours, {}, moved.mismatch,
                       confirm_after_ms=CONFIRM_MS)  # fmt: skip
    assert agreed.position is None
    assert agreed.mismatch is None


def test_a_position_the_exchange_no_longer_holds_is_closed_in_our_tables() -> None:
    ours = long("0.02")
    first = reconcile(snapshot(10_000), ours, {}, None, confirm_after_ms=CONFIRM_MS)
    closed = reconcile(snapshot(20_000), ours, {}, first.mismatch, confirm_after_ms=CONFIRM_MS)
    assert closed.position is not None
    assert not closed.position.is_open
    assert closed.position.realized_pnl == ours.realized_pnl


def filled(link_id: str, at: int) -> OrderFilled:
    return OrderFilled(order_link_id=link_id, symbol=SYMBOL, occurred_at_ms=at,
                       exec_id=f"e-{link_id}", side=Side.BUY, exec_qty=Decimal("0.01"),
                       exec_price=Decimal(60000),
                       exec_fee=Decimal(0), is_maker=True, cum_qty=Decimal("0.01"),
                       avg_price=Decimal(60000), leaves_qty=Decimal(0))  # fmt: skip


def test_a_snapshot_taken_before_an_order_filled_does_not_adopt_it() -> None:
    known: dict[str, KnownOrder] = {}
    ended: dict[str, int] = {}
    track_order(known, OrderSubmitted(order_link_id="ours", symbol=SYMBOL, occurred_at_ms=1), ended)
    track_order(known, accepted("ours", 2), ended)
    assert track_order(known, filled("ours", 9_000), ended)
    assert (known, ended) == ({}, {"ours": 9_000})

    stale = reconcile(snapshot(8_000, "ours", "manual-1"), PositionState(symbol=SYMBOL), known,
                      None, confirm_after_ms=CONFIRM_MS, ended=ended)  # fmt: skip

    assert list(stale.adopted) == ["manual-1"]
    assert [c.subject for c in stale.corrections] == ["manual-1"]


def test_a_late_event_of_an_ended_order_does_not_reopen_it() -> None:
    known: dict[str, KnownOrder] = {}
    ended: dict[str, int] = {}
    track_order(known, OrderSubmitted(order_link_id="ours", symbol=SYMBOL, occurred_at_ms=1), ended)
    track_order(known, filled("ours", 5), ended)
    assert not track_order(known, accepted("ours", 3), ended)  # redelivered after a restart
    assert known == {}


def test_ended_orders_are_remembered_up_to_a_bound_oldest_forgotten_first() -> None:
    known: dict[str, KnownOrder] = {}
    ended: dict[str, int] = {}
    for n in range(ENDED_KEPT + 3):
        track_order(known, filled(f"o{n}", n), ended)
    assert len(ended) == ENDED_KEPT
    assert "o0" not in ended
    assert f"o{ENDED_KEPT + 2}" in ended
