"""The positions views show an operator the table's entry: position, open orders, a difference."""

from __future__ import annotations

import importlib
from typing import Any

from tradestream.app import app

STORED: dict[str, Any] = {
    "position": {"symbol": "BTCUSDT", "size": "0.004", "entry_price": "65114.3"},
    "orders": {
        "b-2": {"status": "order_accepted", "updated_ms": 2},
        "a-1": {"status": "order_submitted", "updated_ms": 1},
    },
    "exec_ids": ["e1", "e2"],
    "mismatch": {"exchange": "0", "ours": "0.004", "at": 5},
}


def test_a_symbols_view_holds_its_position_open_orders_and_pending_difference() -> None:
    assert app is not None  # the app first: the views register on it
    views = importlib.import_module("tradestream.web.positions_views")
    view = views.position_view("BTCUSDT", STORED)
    assert view["position"]["size"] == "0.004"
    assert list(view["open_orders"].items()) == [("a-1", "order_submitted"),
                                                 ("b-2", "order_accepted")]  # fmt: skip
    assert view["mismatch"] == STORED["mismatch"]
    assert view["executions_remembered"] == 2
    assert "exec_ids" not in view


def test_only_a_non_flat_position_counts_as_open() -> None:
    views = importlib.import_module("tradestream.web.positions_views")
    flat = views.position_view("ETHUSDT", {"position": {"size": "0.000"}})
    never = views.position_view("SOLUSDT", {})
    assert views._is_open(views.position_view("BTCUSDT", STORED))
    assert not views._is_open(flat)
    assert not views._is_open(never)
