"""Match the levels of the orders that open positions to the fills of those orders.

A signal's levels (its stop-loss, take-profit and ATR) ride on its ``PlaceOrder``
(``exec.orders``); the fills come back on ``exec.reports`` with only the ``orderLinkId``. The
positions agent reads both and keeps, per symbol, an ``EntryLevels``: the levels of the last
orders placed (by ``orderLinkId``) and the order whose fill last opened or added to the position.
Usually the order is seen first and its levels go out with the fill's position change; when the
fill is seen first (the two topics are read side by side), the levels are applied as soon as the
order is seen. Its plain-dict form is kept in the positions table, so a restart matches the same
way.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradestream.schemas.orders import PlaceOrder

MEMORY = 50
"""Orders whose levels are remembered per symbol (the oldest are forgotten first)."""


@dataclass(frozen=True, slots=True)
class Levels:
    """A stop-loss, a take-profit and the ATR (in price units); any may be missing."""

    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    atr: Decimal | None = None

    @classmethod
    def of(cls, command: PlaceOrder) -> Levels | None:
        """Return the levels an order carries, or None when it carries none."""
        levels = cls(command.stop_loss, command.take_profit, command.atr)
        return None if levels == cls() else levels

    def to_json(self) -> dict[str, str | None]:
        """Return the levels as JSON-able values (prices as strings)."""
        return {
            "stop_loss": _text(self.stop_loss),
            "take_profit": _text(self.take_profit),
            "atr": _text(self.atr),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Levels:
        """Rebuild what ``to_json`` returned (a form stored without ``atr`` has none)."""
        return cls(
            _price(data.get("stop_loss")), _price(data.get("take_profit")), _price(data.get("atr"))
        )


def increases(before: Decimal, after: Decimal) -> bool:
    """Tell whether a fill that moved a position from ``before`` to ``after`` added risk."""
    return abs(after) > abs(before) or before * after < 0


class EntryLevels:
    """One symbol's orders with levels and the order whose fill last opened or added to it."""

    def __init__(self, orders: dict[str, Levels] | None = None, entry: str | None = None) -> None:
        self._orders: OrderedDict[str, Levels] = OrderedDict(orders or {})
        self.entry = entry

    def placed(self, order_link_id: str, levels: Levels) -> Levels | None:
        """Remember an order's levels; return them when its fill was already applied."""
        self._orders[order_link_id] = levels
        self._orders.move_to_end(order_link_id)
        while len(self._orders) > MEMORY:
            self._orders.popitem(last=False)
        return levels if order_link_id == self.entry else None

    def filled(self, order_link_id: str | None, before: Decimal, after: Decimal) -> Levels | None:
        """Take a fill that moved the position from ``before`` to ``after``; return the levels
        to give the position (those of the order, when the fill opened or added to it)."""
        if order_link_id is None or not increases(before, after):
            return None
        self.entry = order_link_id
        return self._orders.get(order_link_id)

    def to_json(self) -> dict[str, Any]:
        """Return the matcher as JSON-able values, for the positions table."""
        return {
            "orders": {link: levels.to_json() for link, levels in self._orders.items()},
            "entry": self.entry,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EntryLevels:
        """Rebuild what ``to_json`` returned (an empty matcher from None)."""
        if not data:
            return cls()
        orders = {link: Levels.from_json(value) for link, value in data["orders"].items()}
        return cls(orders, data.get("entry"))


def _text(price: Decimal | None) -> str | None:
    return None if price is None else str(price)


def _price(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))
