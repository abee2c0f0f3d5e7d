"""Compare one symbol's tables with the exchange's snapshot and decide what to correct; no I/O.

The positions agent keeps, per symbol, the position it computed from executions and the orders
the exchange reported open. Against an ``ExchangeSnapshot`` of the same symbol:

- an open order at the exchange that we do not know was placed behind our back (by hand, by
  another system): it is adopted, marked external, and audited;
- an order we hold open that the exchange does not list any more finished while we were not
  told (a lost push, a restart): the exchange is asked about it by ``orderLinkId`` and its answer
  is reported like any other (``QueryOrder``), never guessed;
- a position that differs from the exchange's is corrected to the exchange's size and entry, and
  audited with before and after, but only once the same difference was seen in two snapshots at
  least ``confirm_after_ms`` apart: a fill on its way through ``exec.reports`` makes a difference
  that lasts milliseconds, and must not be corrected and then applied again;
- a snapshot taken before the last execution we applied says nothing about the position: it is
  older than what we know. That happens when a restarted worker reads again the snapshots its
  killed predecessor had not committed, while the table, restored from its changelog, already
  holds the fills that came after them: two such snapshots would "confirm" the position as it
  was before those fills. Its position is not compared (its orders still are).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tradestream.schemas.account import PositionState
from tradestream.schemas.orders import (
    OrderAccepted,
    OrderCancelRejected,
    OrderEvent,
    OrderPartiallyFilled,
    OrderSubmitted,
)
from tradestream.schemas.reconciliation import (
    ExchangeOrder,
    ExchangeSnapshot,
    ReconciliationCorrected,
)

_ZERO = Decimal(0)
RECENT_MS = 1_000
"""An order we heard of this recently is not asked about: its news may still be on the way."""


@dataclass(frozen=True, slots=True)
class KnownOrder:
    """An order the exchange reported open, as the positions agent keeps it.

    ``external`` until our own ``OrderSubmitted`` names it; ``adopted`` once reconciliation has
    audited it as placed outside tradestream.
    """

    status: str
    updated_ms: int
    external: bool = False
    adopted: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the table form."""
        return {"status": self.status, "updated_ms": self.updated_ms,
                "external": self.external, "adopted": self.adopted}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KnownOrder:
        """Read the table form."""
        return cls(str(data["status"]), int(data["updated_ms"]), bool(data.get("external")),
                   bool(data.get("adopted")))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A position difference seen once, waiting for a second look before it is corrected."""

    exchange_size: Decimal
    our_size: Decimal
    seen_at_ms: int

    def to_json(self) -> dict[str, Any]:
        """Return the table form."""
        return {
            "exchange": str(self.exchange_size),
            "ours": str(self.our_size),
            "at": self.seen_at_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Mismatch:
        """Read the table form."""
        return cls(Decimal(data["exchange"]), Decimal(data["ours"]), int(data["at"]))


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What one snapshot changes: orders adopted or to ask about, a corrected position."""

    adopted: dict[str, KnownOrder]
    queries: tuple[str, ...]
    corrections: tuple[ReconciliationCorrected, ...]
    position: PositionState | None
    mismatch: Mismatch | None


ENDED_KEPT = 64
"""How many ended orders a symbol remembers: enough to outlast any snapshot still on its way."""


def track_order(
    known: dict[str, KnownOrder], event: OrderEvent, ended: dict[str, int] | None = None
) -> bool:
    """Keep ``known`` to the orders the exchange holds open; return whether it changed.

    ``ended`` remembers the orders seen to end (newest last, at most ``ENDED_KEPT``): a late or
    redelivered event of such an order does not bring it back as open.
    """
    link_id = event.order_link_id
    if isinstance(event, OrderCancelRejected):
        return False
    if ended is not None and link_id in ended:
        return False
    previous = known.get(link_id)
    if isinstance(event, OrderSubmitted):
        status = previous.status if previous is not None else event.kind
        known[link_id] = KnownOrder(status, event.occurred_at_ms)
        return True
    if isinstance(event, OrderAccepted | OrderPartiallyFilled):
        if previous is None:  # no submission of ours came first: placed elsewhere
            known[link_id] = KnownOrder(event.kind, event.occurred_at_ms, external=True)
        else:
            known[link_id] = replace(previous, status=event.kind, updated_ms=event.occurred_at_ms)
        return True
    if ended is not None:
        ended[link_id] = event.occurred_at_ms
        for oldest in list(ended)[: max(0, len(ended) - ENDED_KEPT)]:
            del ended[oldest]
    return known.pop(link_id, None) is not None or ended is not None


def reconcile(
    snapshot: ExchangeSnapshot,
    position: PositionState,
    known: Mapping[str, KnownOrder],
    pending: Mismatch | None,
    *,
    confirm_after_ms: int,
    last_fill_ms: int = 0,
    ended: Collection[str] = (),
) -> Reconciliation:
    """Decide what ``snapshot`` changes in one symbol's orders and position.

    ``last_fill_ms`` is the time of the newest execution applied to ``position``: a snapshot
    taken before it is too old to compare the position with, and leaves ``pending`` as it is.
    ``ended`` names orders already seen to end: a snapshot that still lists one was taken
    before its end, and does not make it an external order to adopt.
    """
    listed = {
        order.order_link_id: order for order in snapshot.open_orders
        if order.order_link_id not in ended
    }  # fmt: skip
    adopted = {
        link_id: KnownOrder(
            _status(known.get(link_id)), snapshot.taken_at_ms, external=True, adopted=True
        )
        for link_id in listed
        if link_id not in known or (known[link_id].external and not known[link_id].adopted)
    }
    corrections = [_adoption(snapshot, listed[link_id]) for link_id in adopted]
    queries = tuple(
        link_id
        for link_id, order in known.items()
        if link_id not in listed and order.updated_ms < snapshot.taken_at_ms - RECENT_MS
    )
    if snapshot.taken_at_ms < last_fill_ms:
        corrected, mismatch = None, pending
    else:
        corrected, mismatch = _check_position(snapshot, position, pending, confirm_after_ms)
    if corrected is not None:
        corrections.append(_position_correction(snapshot, position, corrected))
    return Reconciliation(adopted, queries, tuple(corrections), corrected, mismatch)


def _status(order: KnownOrder | None) -> str:
    return "order_accepted" if order is None else order.status


def _check_position(
    snapshot: ExchangeSnapshot,
    position: PositionState,
    pending: Mismatch | None,
    confirm_after_ms: int,
) -> tuple[PositionState | None, Mismatch | None]:
    ours, theirs = position.size, snapshot.position_size
    if ours == theirs:
        return None, None
    seen = Mismatch(theirs, ours, snapshot.taken_at_ms)
    if pending is None or (pending.exchange_size, pending.our_size) != (theirs, ours):
        return None, seen
    if snapshot.taken_at_ms - pending.seen_at_ms < confirm_after_ms:
        return None, pending
    return _as_exchange_holds(snapshot, position), None


def _as_exchange_holds(snapshot: ExchangeSnapshot, position: PositionState) -> PositionState:
    size, now = snapshot.position_size, snapshot.taken_at_ms
    if size == 0:
        return position.model_copy(
            update={
                "size": _ZERO,
                "entry_price": _ZERO,
                "unrealized_pnl": _ZERO,
                "opened_ts_ms": None,
                "updated_ts_ms": now,
            }
        )
    entry = snapshot.position_entry
    mark = position.mark_price if position.mark_price > 0 else entry
    return position.model_copy(
        update={
            "size": size,
            "entry_price": entry,
            "mark_price": mark,
            "unrealized_pnl": size * (mark - entry),
            "opened_ts_ms": position.opened_ts_ms or now,
            "updated_ts_ms": now,
        }
    )


def _adoption(snapshot: ExchangeSnapshot, order: ExchangeOrder) -> ReconciliationCorrected:
    after = {
        "side": order.side.value,
        "type": order.order_type.value,
        "qty": str(order.qty),
        "price": str(order.price or ""),
        "status": order.status,
        "external": "true",
    }
    return ReconciliationCorrected(
        symbol=snapshot.symbol,
        subject=order.order_link_id,
        action="order_adopted",
        before={},
        after=after,
        reason="open at the exchange but unknown to us: placed outside tradestream",
        at_ms=snapshot.taken_at_ms,
    )


def _position_correction(
    snapshot: ExchangeSnapshot, before: PositionState, after: PositionState
) -> ReconciliationCorrected:
    return ReconciliationCorrected(
        symbol=snapshot.symbol,
        subject=snapshot.symbol,
        action="position_corrected",
        before={"size": str(before.size), "entry_price": str(before.entry_price)},
        after={"size": str(after.size), "entry_price": str(after.entry_price)},
        reason=f"the exchange holds {after.size} and we held {before.size} in two snapshots",
        at_ms=snapshot.taken_at_ms,
    )
