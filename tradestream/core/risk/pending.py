"""Orders risk approved that the account does not show yet, counted as if already filled.

Between an approval and the position update its fill causes there is a gap (execution, the
positions agent, the account topic). Without counting approved orders, two signals in that gap
could both take the last free slot or the last of the exposure budget. A pending order stops
counting when the account's size of its symbol moved away from the size it had at approval (a
fill arrived), when the agent releases it (rejected, cancelled, expired), or after ``ttl_ms``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType

from tradestream.core.risk.proposal import PendingOrder, PendingTotal, pending_totals
from tradestream.schemas.account import AccountState

_ZERO = Decimal(0)


class PendingOrders:
    """Hold the approved orders whose fills have not reached the account."""

    def __init__(self, ttl_ms: int) -> None:
        if ttl_ms <= 0:
            raise ValueError(f"ttl_ms must be positive, got {ttl_ms}")
        self.ttl_ms = ttl_ms
        self._orders: dict[str, PendingOrder] = {}
        self._totals: Mapping[str, PendingTotal] | None = None  # added up again after a change
        self._looked: tuple[dict[str, Decimal], int] | None = None  # sizes, first expiry

    def __iter__(self) -> Iterator[PendingOrder]:
        return iter(tuple(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    def add(self, order: PendingOrder) -> None:
        """Count ``order`` until the account shows it, it is released, or it expires."""
        self._orders[order.order_link_id] = order
        self._totals = None
        self._looked = None

    def release(self, order_link_id: str) -> bool:
        """Stop counting an order that ended without (further) fills; False if unknown."""
        if self._orders.pop(order_link_id, None) is None:
            return False
        self._totals = None
        return True

    def refresh(self, account: AccountState, now_ms: int) -> None:
        """Drop the orders the account already reflects and those older than the ttl."""
        if not self._orders:
            return
        sizes = {p.symbol: p.size for p in account.positions}
        looked = self._looked
        if looked is not None and looked[0] == sizes and now_ms < looked[1]:
            return  # no size moved and nothing expired since every order was last looked at
        oldest = now_ms - self.ttl_ms
        done = [
            link_id
            for link_id, order in self._orders.items()
            if order.approved_ts_ms <= oldest
            or sizes.get(order.symbol, _ZERO) != order.account_size
        ]
        for link_id in done:
            del self._orders[link_id]
        if done:
            self._totals = None
        first = min((o.approved_ts_ms for o in self._orders.values()), default=now_ms)
        self._looked = (sizes, first + self.ttl_ms)

    def clear(self) -> tuple[PendingOrder, ...]:
        """Forget every pending order (a halt cancels them) and return them."""
        orders = tuple(self._orders.values())
        self._orders.clear()
        self._totals = None
        return orders

    def totals(self) -> Mapping[str, PendingTotal]:
        """Return the pending orders added up per symbol (kept until the orders change)."""
        if self._totals is None:
            self._totals = MappingProxyType(pending_totals(self._orders.values()))
        return self._totals

    def symbols(self) -> frozenset[str]:
        """Return the symbols with a pending order."""
        return frozenset(self.totals())
