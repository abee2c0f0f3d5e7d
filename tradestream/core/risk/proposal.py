"""What the rules look at: the order a signal would place, and the account it would land in.

A ``ProposedOrder`` knows the symbol's size before and after it, so every rule asks one question:
does this order add risk (open, add, flip) and would the account after it break my limit? Orders
that only reduce exposure pass every limit; only a halt stops them.

``RiskContext`` is the account as risk must see it: the positions the account reports plus the
orders risk already approved whose fills have not reached the account yet (``PendingOrder``), so
that two signals a moment apart cannot both take the last slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from tradestream.schemas.account import AccountState
from tradestream.schemas.orders import Side
from tradestream.schemas.trading import TradingState

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Refused:
    """A rule's refusal: which rule, and why in words a person reads in the audit log."""

    rule: str
    reason: str


def signed(side: Side, qty: Decimal) -> Decimal:
    """Return ``qty`` with the sign a fill on ``side`` gives a position."""
    return qty if side is Side.BUY else -qty


@dataclass(frozen=True, slots=True)
class ProposedOrder:
    """One order a signal would place, with the symbol's size before it (pending included)."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    size_before: Decimal
    reduce_only: bool = False
    stop_loss: Decimal | None = None
    size_after: Decimal = field(init=False)
    """The symbol's signed size once the order filled (every rule asks: worked out once)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "size_after", self.size_before + signed(self.side, self.qty))

    @property
    def opens(self) -> bool:
        """Tell whether the order opens a position on a flat symbol."""
        return self.size_before == 0 and self.size_after != 0

    @property
    def flips(self) -> bool:
        """Tell whether the order closes the position and opens the other side."""
        return self.size_before * self.size_after < 0

    @property
    def increases(self) -> bool:
        """Tell whether the order adds risk: a bigger position or a new direction."""
        return abs(self.size_after) > abs(self.size_before) or self.flips

    @property
    def new_position(self) -> bool:
        """Tell whether the order starts a position that was not there (open or flip)."""
        return self.opens or self.flips

    @property
    def notional_after(self) -> Decimal:
        """Return the symbol's absolute notional after the order, at the order's price."""
        return abs(self.size_after) * self.price

    @property
    def notional_change(self) -> Decimal:
        """Return how much the order changes the symbol's absolute notional (may be negative)."""
        return (abs(self.size_after) - abs(self.size_before)) * self.price


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """An order risk approved whose fill the account has not shown yet."""

    order_link_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    stop_loss: Decimal | None
    account_size: Decimal
    approved_ts_ms: int


@dataclass(frozen=True, slots=True)
class RiskContext:
    """The account plus pending orders, valued per symbol, as the rules read it."""

    account: AccountState
    equity: Decimal
    """The account's equity (read by several rules: added up once)."""
    sizes: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]
    stops: Mapping[str, Decimal]
    entries: Mapping[str, int]
    trading_state: TradingState
    now_ms: int
    assumed_stop_fraction: Decimal

    @property
    def open_count(self) -> int:
        """Return how many symbols hold a position or a pending entry."""
        return len(self.sizes)

    def size(self, symbol: str) -> Decimal:
        """Return the signed size of ``symbol``, pending orders counted as filled."""
        return self.sizes.get(symbol, _ZERO)

    def gross_exposure(self) -> Decimal:
        """Return the sum of absolute notionals, pending orders included."""
        return sum((abs(s) * self.prices[sym] for sym, s in self.sizes.items()), _ZERO)

    def stop_distance(self, price: Decimal, stop: Decimal | None) -> Decimal:
        """Return the loss per unit at the stop, or the assumed fraction of price without one."""
        return abs(price - stop) if stop is not None else price * self.assumed_stop_fraction

    def symbol_risk(self, symbol: str) -> Decimal:
        """Return what ``symbol``'s position loses if its stop is hit."""
        size = self.sizes.get(symbol)
        if size is None:
            return _ZERO
        price = self.prices[symbol]
        return abs(size) * self.stop_distance(price, self.stops.get(symbol))

    def open_risk(self) -> Decimal:
        """Return what every position loses if every stop is hit."""
        return sum((self.symbol_risk(symbol) for symbol in self.sizes), _ZERO)


@dataclass(frozen=True, slots=True)
class PendingTotal:
    """The pending orders of one symbol together: signed qty, first price, last stop given."""

    qty: Decimal
    price: Decimal
    stop_loss: Decimal | None


def pending_totals(pending: Iterable[PendingOrder]) -> dict[str, PendingTotal]:
    """Add up pending orders per symbol, in the order the symbols first appear."""
    totals: dict[str, PendingTotal] = {}
    for order in pending:
        qty = signed(order.side, order.qty)
        known = totals.get(order.symbol)
        if known is None:
            totals[order.symbol] = PendingTotal(qty, order.price, order.stop_loss)
        else:
            stop = order.stop_loss if order.stop_loss is not None else known.stop_loss
            totals[order.symbol] = PendingTotal(known.qty + qty, known.price, stop)
    return totals


def build_context(
    account: AccountState,
    pending: Iterable[PendingOrder],
    *,
    entries: Mapping[str, int],
    trading_state: TradingState,
    now_ms: int,
    assumed_stop_fraction: Decimal,
) -> RiskContext:
    """Merge the account's open positions with the pending orders into one view."""
    return context_with(
        account,
        pending_totals(pending),
        entries=entries,
        trading_state=trading_state,
        now_ms=now_ms,
        assumed_stop_fraction=assumed_stop_fraction,
    )


def context_with(
    account: AccountState,
    pending: Mapping[str, PendingTotal],
    *,
    entries: Mapping[str, int],
    trading_state: TradingState,
    now_ms: int,
    assumed_stop_fraction: Decimal,
) -> RiskContext:
    """Merge the account's open positions with the pending orders added up per symbol."""
    held = account.open_positions
    sizes = {p.symbol: p.size for p in held}
    prices = {p.symbol: p.mark_price for p in held}
    stops = {p.symbol: p.stop_loss for p in held if p.stop_loss is not None}
    for symbol, total in pending.items():
        sizes[symbol] = sizes.get(symbol, _ZERO) + total.qty
        prices.setdefault(symbol, total.price)
        if total.stop_loss is not None:
            stops[symbol] = total.stop_loss
    open_sizes = {symbol: size for symbol, size in sizes.items() if size != 0}
    return RiskContext(
        account=account,
        equity=account.equity,
        sizes=MappingProxyType(open_sizes),
        prices=MappingProxyType(prices),
        stops=MappingProxyType(stops),
        entries=MappingProxyType(dict(entries)),
        trading_state=trading_state,
        now_ms=now_ms,
        assumed_stop_fraction=assumed_stop_fraction,
    )
