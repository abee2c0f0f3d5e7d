"""Entry levels: an opening order's stop, take-profit and ATR reach the position its fills open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradestream.core.portfolio.entry_levels import MEMORY, EntryLevels, Levels, increases
from tradestream.schemas.orders import OrderType, PlaceOrder, Side

D = Decimal
LEVELS = Levels(D(95), D(110))


def order(**change: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "command_id": "rd-1", "strategy": "momentum", "signal_id": "sig-1", "symbol": "BTCUSDT",
        "side": Side.BUY, "order_type": OrderType.MARKET, "qty": D(1), "issued_at_ms": 1,
    }  # fmt: skip
    return PlaceOrder.model_validate({**fields, **change})


def test_an_order_carries_levels_only_when_it_names_one() -> None:
    assert Levels.of(order()) is None
    assert Levels.of(order(take_profit="110")) == Levels(None, D(110))
    assert Levels.of(order(stop_loss="95", take_profit="110")) == LEVELS
    assert Levels.of(order(atr="0.4")) == Levels(atr=D("0.4"))  # an ATR alone is worth carrying


def test_levels_with_an_atr_round_trip_and_a_form_stored_before_the_atr_reads_as_none() -> None:
    levels = Levels(D(95), D(110), D("0.4"))

    assert Levels.from_json(levels.to_json()) == levels
    assert Levels.from_json({"stop_loss": "95", "take_profit": "110"}) == LEVELS
    assert LEVELS.atr is None


@pytest.mark.parametrize(
    ("before", "after", "adds"),
    [(0, 1, True), (1, 2, True), (-1, -3, True), (1, -1, True), (2, 1, False), (1, 0, False)],
)
def test_a_fill_adds_risk_when_it_opens_adds_or_flips(before: int, after: int, adds: bool) -> None:
    assert increases(D(before), D(after)) is adds


def test_the_order_seen_first_gives_its_levels_to_the_fill_that_opens() -> None:
    entries = EntryLevels()

    assert entries.placed("link-1", LEVELS) is None  # nothing filled yet
    assert entries.filled("link-1", D(0), D(1)) == LEVELS
    assert entries.entry == "link-1"


def test_a_fill_seen_before_its_order_gets_the_levels_when_the_order_comes() -> None:
    entries = EntryLevels()

    assert entries.filled("link-1", D(0), D(1)) is None
    assert entries.placed("link-2", Levels(D(1), None)) is None  # another order
    assert entries.placed("link-1", LEVELS) == LEVELS


def test_a_reducing_fill_changes_no_levels_and_keeps_the_entry() -> None:
    entries = EntryLevels({"link-1": LEVELS}, entry="link-1")
    entries.placed("close-1", Levels(D(1), D(2)))  # (risk never sends levels on a close)

    assert entries.filled("close-1", D(2), D(1)) is None
    assert entries.filled(None, D(0), D(1)) is None  # a fill of an unknown order
    assert entries.entry == "link-1"


def test_it_round_trips_through_json_and_forgets_the_oldest_orders() -> None:
    entries = EntryLevels()
    for index in range(MEMORY + 5):
        entries.placed(f"link-{index}", Levels(D(index + 1), None))
    entries.filled(f"link-{MEMORY + 4}", D(0), D(1))

    restored = EntryLevels.from_json(entries.to_json())

    assert restored.to_json() == entries.to_json()
    assert restored.entry == f"link-{MEMORY + 4}"
    assert restored.filled("link-0", D(0), D(1)) is None  # forgotten
    assert restored.filled("link-5", D(0), D(1)) == Levels(D(6), None)
    assert EntryLevels.from_json(None).to_json() == {"orders": {}, "entry": None}
