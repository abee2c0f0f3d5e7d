"""Orders risk approved that the account does not show yet, counted as if already filled.

Between an approval and the position update its fill causes there is a gap (execution, the
positions agent, the account topic). Without counting approved orders, two signals in that gap
could both take the last free slot or the last of the exposure budget. A pending order stops
counting when the account's size of its symbol moved away from the size it had at approval (a
fill arrived), when the agent releases it (rejected, cancelled, expired), or after ``ttl_ms``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType

from tradestream.core.risk.proposal import PendingOrder, PendingTotal, pending_totals, signed
from tradestream.schemas.account import AccountState

_ZERO = Decimal(0)


class PendingOrders:
    """Hold the approved orders whose fills have not reached the account.

    Every operation costs what changed, not what is pending: a backlog of thousands of approved
    orders (a slow exchange) must not make each new signal pay for all of them. Orders are kept
    per symbol with a total per symbol updated on each change; a look at the account examines
    only the symbols whose size moved and the orders added since the last look; expiry pops the
    oldest approvals off a heap.
    """

    def __init__(self, ttl_ms: int) -> None:
        if ttl_ms <= 0:
            raise ValueError(f"ttl_ms must be positive, got {ttl_ms}")
        self.ttl_ms = ttl_ms
        self._orders: dict[str, PendingOrder] = {}
        self._by_symbol: dict[str, dict[str, PendingOrder]] = {}
        self._symbol_totals: dict[str, PendingTotal] = {}
        self._totals: Mapping[str, PendingTotal] | None = None  # the view, until a change
        self._by_age: list[tuple[int, str]] = []  # (approved_ts_ms, link id), a heap
        self._sizes: dict[str, Decimal] = {}  # each symbol's size at the last look
        self._unlooked: list[PendingOrder] = []  # added since the last look

    def __iter__(self) -> Iterator[PendingOrder]:
        return iter(tuple(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    def add(self, order: PendingOrder) -> None:
        """Count ``order`` until the account shows it, it is released, or it expires."""
        link_id = order.order_link_id
        if link_id in self._orders:
            self._drop(link_id)
        self._orders[link_id] = order
        self._by_symbol.setdefault(order.symbol, {})[link_id] = order
        heapq.heappush(self._by_age, (order.approved_ts_ms, link_id))
        self._unlooked.append(order)
        known = self._symbol_totals.get(order.symbol)
        if known is None:
            self._symbol_totals[order.symbol] = PendingTotal(
                signed(order.side, order.qty), order.price, order.stop_loss
            )
        else:  # as ``pending_totals`` folds it: the first price, the latest stop given
            stop = order.stop_loss if order.stop_loss is not None else known.stop_loss
            qty = known.qty + signed(order.side, order.qty)
            self._symbol_totals[order.symbol] = PendingTotal(qty, known.price, stop)
        self._totals = None

    def release(self, order_link_id: str) -> bool:
        """Stop counting an order that ended without (further) fills; False if unknown."""
        return self._drop(order_link_id)

    def refresh(self, account: AccountState, now_ms: int) -> None:
        """Drop the orders the account already reflects and those older than the ttl."""
        sizes = {p.symbol: p.size for p in account.positions}
        if sizes != self._sizes:
            for symbol in self._by_symbol.keys() & (sizes.keys() | self._sizes.keys()):
                size = sizes.get(symbol, _ZERO)
                if size != self._sizes.get(symbol, _ZERO):
                    self._drop_all(o for o in self._by_symbol[symbol].values()
                                   if o.account_size != size)  # fmt: skip
            self._sizes = sizes
        unlooked, self._unlooked = self._unlooked, []
        self._drop_all(o for o in unlooked if o.account_size != sizes.get(o.symbol, _ZERO))
        oldest = now_ms - self.ttl_ms
        by_age = self._by_age
        while by_age and by_age[0][0] <= oldest:
            approved_ms, link_id = heapq.heappop(by_age)
            order = self._orders.get(link_id)
            if order is not None and order.approved_ts_ms == approved_ms:
                self._drop(link_id)

    def clear(self) -> tuple[PendingOrder, ...]:
        """Forget every pending order (a halt cancels them) and return them."""
        orders = tuple(self._orders.values())
        self._orders.clear()
        self._by_symbol.clear()
        self._symbol_totals.clear()
        self._by_age.clear()
        self._unlooked.clear()
        self._totals = None
        return orders

    def totals(self) -> Mapping[str, PendingTotal]:
        """Return the pending orders added up per symbol (kept until the orders change)."""
        if self._totals is None:
            self._totals = MappingProxyType(dict(self._symbol_totals))
        return self._totals

    def symbols(self) -> frozenset[str]:
        """Return the symbols with a pending order."""
        return frozenset(self._by_symbol)

    def _drop_all(self, orders: Iterable[PendingOrder]) -> None:
        for order in list(orders):
            if self._orders.get(order.order_link_id) is order:
                self._drop(order.order_link_id)

    def _drop(self, link_id: str) -> bool:
        order = self._orders.pop(link_id, None)
        if order is None:
            return False
        of_symbol = self._by_symbol[order.symbol]
        del of_symbol[link_id]
        if not of_symbol:
            del self._by_symbol[order.symbol]
        self._retotal(order.symbol)
        return True

    def _retotal(self, symbol: str) -> None:
        orders = self._by_symbol.get(symbol)
        if orders:
            self._symbol_totals[symbol] = pending_totals(orders.values())[symbol]
        else:
            self._symbol_totals.pop(symbol, None)
        self._totals = None
