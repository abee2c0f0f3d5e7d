"""The paper account as data: what changed since the last save, in a JSON-able form.

A paper account lives in the worker's memory; to outlive a restart it is saved elsewhere
(``paper_store.py``, Redis) after every change that matters and read back at start. Saving the
whole history at 50 orders a second would grow without bound, so the state comes in two parts:

- the account (balance, positions, fees, marks, the engine's resting and pending orders,
  leverage, exchange-held stops, id counters): small, written whole at every save;
- the orders as the exchange reports them (``LedgerOrder`` with its executions), one entry per
  order, written only when that order changed. Open orders are kept; ended ones only for the
  last ``kept`` of them (``OrderHistory`` drops the older ones in batches, from memory too).

Pure: no I/O, Decimals as strings, ``restore`` reads exactly what ``take`` wrote.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from tradestream.core.matching.trading_stops import StopLevels
from tradestream.exchange.ledger import Ledger, LedgerOrder

STATE_VERSION = 1
_ORDER = TypeAdapter(LedgerOrder)
_STOPS = TypeAdapter(dict[str, StopLevels])


@dataclass(frozen=True, slots=True)
class PaperChanges:
    """What to save: the whole account, the orders that changed, the orders to forget."""

    account: dict[str, Any]
    orders: dict[str, dict[str, Any]]
    dropped: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """Tell whether nothing changed since the last save."""
        return not self.account and not self.orders and not self.dropped


class OrderHistory:
    """Track which orders changed since the last save; keep only a window of ended ones."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self.changed = False
        self._touched: set[str] = set()
        self._dropped: set[str] = set()
        self._ended: dict[str, None] = {}  # oldest end first

    def touch(self, order: LedgerOrder) -> None:
        """Note that ``order`` changed (and ended, if it did)."""
        self.changed = True
        self._touched.add(order.order_link_id)
        if not order.is_open:
            self._ended.setdefault(order.order_link_id)

    def change(self) -> None:
        """Note that the account changed without any order changing (a stop, a leverage)."""
        self.changed = True

    def overflow(self) -> list[str]:
        """Return the oldest ended orders beyond the window, in batches; forget them from now."""
        if len(self._ended) <= self.kept + max(1, self.kept // 10):
            return []
        old = list(itertools.islice(self._ended, len(self._ended) - self.kept))
        for link_id in old:
            del self._ended[link_id]
            self._touched.discard(link_id)
        self._dropped.update(old)
        return old

    def take(self, account: dict[str, Any], ledger: Ledger) -> PaperChanges:
        """Return what changed since the last ``take`` (nothing: an empty ``PaperChanges``)."""
        if not self.changed:
            return PaperChanges({}, {}, ())
        orders = ledger.orders
        touched = {i: order_state(orders[i]) for i in sorted(self._touched) if i in orders}
        changes = PaperChanges(account, touched, tuple(sorted(self._dropped)))
        self.changed = False
        self._touched.clear()
        self._dropped.clear()
        return changes

    def put_back(self, changes: PaperChanges) -> None:
        """Mark ``changes`` as unsaved again (saving them failed): the next ``take`` has them."""
        self.changed = self.changed or not changes.empty
        self._touched.update(changes.orders)
        self._dropped.update(changes.dropped)

    def restore(self, orders: Iterable[LedgerOrder]) -> None:
        """Start from the orders read back: the ended ones, oldest end first, fill the window."""
        ended = sorted((o for o in orders if not o.is_open), key=_ended_order)
        self._ended = dict.fromkeys(o.order_link_id for o in ended)


def order_state(order: LedgerOrder) -> dict[str, Any]:
    """Describe one order and its executions as JSON-able data."""
    return _ORDER.dump_python(order, mode="json")  # type: ignore[no-any-return]


def ledger_orders(states: Iterable[Mapping[str, Any]]) -> list[LedgerOrder]:
    """Read orders back from ``order_state`` data, oldest first (by their exchange order id)."""
    orders = [_ORDER.validate_python(state) for state in states]
    return sorted(orders, key=lambda o: (o.created_ms, _number(o.order_id)))


def stops_state(stops: Mapping[str, StopLevels]) -> dict[str, Any]:
    """Describe the stops held on positions as JSON-able data."""
    return _STOPS.dump_python(dict(stops), mode="json")  # type: ignore[no-any-return]


def restored_stops(state: Mapping[str, Any]) -> dict[str, StopLevels]:
    """Read back what ``stops_state`` wrote."""
    return _STOPS.validate_python(state)


def _ended_order(order: LedgerOrder) -> tuple[int, int]:
    return order.updated_ms, _number(order.order_id)


# ``paper-<n>``: the paper exchange numbers its orders in the order they were placed.
def _number(order_id: str) -> int:
    tail = order_id.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0
