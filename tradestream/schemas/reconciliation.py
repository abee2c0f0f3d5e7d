"""What reconciliation carries: the exchange's view of one symbol, and each correction made.

A trading worker asks the exchange for its open orders, positions and wallet (at start, then
every ``reconcile_interval_s``) and publishes one ``ExchangeSnapshot`` per symbol on
``exec.reconcile``, keyed and partitioned like ``exec.reports``, so the positions agent that owns
the symbol compares it with its tables. Every difference it acts on becomes a
``ReconciliationCorrected`` event on ``account.events`` with the state before and after, which the
records sink lands in the audit log.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from tradestream.schemas.orders import (
    Identifier,
    OrderLinkId,
    OrderType,
    Price,
    Qty,
    Reason,
    Side,
    Symbol,
    TimestampMs,
)


class _Record(BaseModel, frozen=True, extra="forbid"):
    """Share the frozen, closed shape of every reconciliation record."""


class ExchangeOrder(_Record):
    """One open order as the exchange lists it."""

    order_link_id: OrderLinkId
    side: Side
    order_type: OrderType
    qty: Qty
    price: Price | None = None
    cum_qty: Decimal = Decimal(0)
    reduce_only: bool = False
    status: str
    created_ms: TimestampMs = 0


class ExchangeSnapshot(_Record):
    """One symbol at the exchange at ``taken_at_ms``: its open orders and netted position."""

    kind: Literal["exchange_snapshot"] = "exchange_snapshot"
    symbol: Symbol
    taken_at_ms: TimestampMs
    open_orders: tuple[ExchangeOrder, ...] = ()
    position_size: Decimal = Decimal(0)
    """Signed: long > 0, short < 0 (one-way mode)."""
    position_entry: Decimal = Decimal(0)
    wallet_equity: Decimal | None = None


class WalletObserved(_Record):
    """The account's equity at the exchange, as one reconciliation pass read it.

    Published on ``account.events`` (the risk agent's one partition, key ``account``): the risk
    agent compares it with the equity it computes (``core/portfolio/balance.py``).
    """

    kind: Literal["wallet_observed"] = "wallet_observed"
    equity: Decimal
    taken_at_ms: TimestampMs


class ReconciliationCorrected(_Record):
    """Reconciliation changed what we hold to match the exchange; before and after, audited.

    ``symbol`` is None for a correction of the whole account (``balance_corrected``).
    """

    kind: Literal["reconciliation_corrected"] = "reconciliation_corrected"
    symbol: Symbol | None = None
    subject: Identifier
    action: Literal["order_adopted", "position_corrected", "balance_corrected"]
    before: dict[str, str]
    after: dict[str, str]
    reason: Reason
    at_ms: TimestampMs
