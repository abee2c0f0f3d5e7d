"""Orders risk approved that the account does not show yet, counted as if already filled.

Between an approval and the position update its fill causes there is a gap (execution, the
positions agent, the account topic). Without counting approved orders, two signals in that gap
could both take the last free slot or the last of the exposure budget. A pending order stops
counting when the account's size of its symbol moved away from the size it had at approval (a
fill arrived), when the agent releases it (rejected, cancelled, expired), or after ``ttl_ms``.
"""

from __future__ import annotations

from collections.abc import Iterator

from tradestream.core.risk.proposal import PendingOrder
from tradestream.schemas.account import AccountState


class PendingOrders:
    """Hold the approved orders whose fills have not reached the account."""

    def __init__(self, ttl_ms: int) -> None:
        if ttl_ms <= 0:
            raise ValueError(f"ttl_ms must be positive, got {ttl_ms}")
        self.ttl_ms = ttl_ms
        self._orders: dict[str, PendingOrder] = {}

    def __iter__(self) -> Iterator[PendingOrder]:
        return iter(tuple(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    def add(self, order: PendingOrder) -> None:
        """Count ``order`` until the account shows it, it is released, or it expires."""
        self._orders[order.order_link_id] = order

    def release(self, order_link_id: str) -> bool:
        """Stop counting an order that ended without (further) fills; False if unknown."""
        return self._orders.pop(order_link_id, None) is not None

    def refresh(self, account: AccountState, now_ms: int) -> None:
        """Drop the orders the account already reflects and those older than the ttl."""
        self._orders = {
            link_id: order
            for link_id, order in self._orders.items()
            if now_ms - order.approved_ts_ms < self.ttl_ms
            and account.size(order.symbol) == order.account_size
        }

    def clear(self) -> tuple[PendingOrder, ...]:
        """Forget every pending order (a halt cancels them) and return them."""
        orders = tuple(self._orders.values())
        self._orders.clear()
        return orders

    def symbols(self) -> frozenset[str]:
        """Return the symbols with a pending order."""
        return frozenset(order.symbol for order in self._orders.values())
