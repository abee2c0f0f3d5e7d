"""What the risk engine returns: the decision to publish and the orders and events it causes.

Every id derives from the cause: the decision id and the order's ``command_id`` from the signal
id, the ``orderLinkId`` from ``(strategy, symbol, signal_id, leg)`` as for every ``PlaceOrder``;
a replayed signal therefore makes the same ids and the exchange refuses the second order.
Approved orders are reduce-only when they only close, and market orders (IOC): risk prices the
decision at the reference price, the exchange fills at the market. An order that opens or adds
carries the signal's stop-loss, take-profit and ATR (its ``atr`` indicator) to the position.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from decimal import Decimal

from tradestream.core.orders.client_id import order_link_id_for
from tradestream.core.risk.proposal import ProposedOrder, Refused
from tradestream.schemas.orders import CancelOrder, OrderType, PlaceOrder, TimeInForce
from tradestream.schemas.reconciliation import ReconciliationCorrected
from tradestream.schemas.trading import (
    APPROVED,
    KillSwitchReset,
    KillSwitchTripped,
    RiskDecision,
    Signal,
    TradingState,
    TradingStateChanged,
)

_PERSONALISATION = b"ts.decision.v1"

TradingStateEventT = KillSwitchTripped | KillSwitchReset | TradingStateChanged


def decision_id(signal_id: str) -> str:
    """Return the id of the decision about ``signal_id`` (also its order's command id)."""
    digest = hashlib.blake2b(
        signal_id.encode("utf-8"), digest_size=11, person=_PERSONALISATION
    ).hexdigest()
    return f"rd-{digest}"


@dataclass(frozen=True, slots=True)
class RiskOutcome:
    """Publish ``decision``, send ``commands`` then ``order``, and record ``events``.

    ``commands`` are the kill switch's cancels and closes; ``duplicate`` marks an answer given
    again for a signal or command already handled (re-sending its order is safe: same ids).
    """

    decision: RiskDecision | None = None
    order: PlaceOrder | None = None
    events: tuple[TradingStateEventT, ...] = ()
    commands: tuple[PlaceOrder | CancelOrder, ...] = ()
    duplicate: bool = False
    audits: tuple[ReconciliationCorrected, ...] = ()
    """Corrections of the account made by the risk agent (its balance), for the audit log."""

    def all_commands(self) -> tuple[PlaceOrder | CancelOrder, ...]:
        """Return the commands to send, in order: kill-switch commands, then the approved order."""
        return self.commands + ((self.order,) if self.order is not None else ())

    def with_halt(self, halt: RiskOutcome) -> RiskOutcome:
        """Return this outcome preceded by the events and commands of a trip."""
        if not halt.events and not halt.commands:
            return self
        return replace(
            self, events=halt.events + self.events, commands=halt.commands + self.commands
        )


def refused(
    signal: Signal,
    refusal: Refused,
    price: Decimal | None,
    state: TradingState,
    now_ms: int,
) -> RiskOutcome:
    """Build the outcome of a refused signal."""
    decision = RiskDecision(
        decision_id=decision_id(signal.signal_id),
        signal_id=signal.signal_id,
        strategy=signal.strategy,
        symbol=signal.symbol,
        side=signal.side,
        approved=False,
        price=price if price is not None else signal.entry_price,
        reduce_only=signal.reduce_only,
        rule=refusal.rule,
        reason=refusal.reason[:500],
        trading_state=state,
        decided_ts_ms=now_ms,
    )
    return RiskOutcome(decision=decision)


def approved(
    signal: Signal,
    order: ProposedOrder,
    state: TradingState,
    now_ms: int,
    *,
    atr_indicator: str = "atr",
) -> RiskOutcome:
    """Build the outcome of an approved signal: its decision and its market order.

    ``atr_indicator`` names the signal's indicator that holds its ATR (the strategies' ``atr``).
    """
    opening = _opening(order)
    command = PlaceOrder(
        command_id=decision_id(signal.signal_id),
        strategy=signal.strategy,
        signal_id=signal.signal_id,
        symbol=signal.symbol,
        side=order.side,
        order_type=OrderType.MARKET,
        qty=order.qty,
        time_in_force=TimeInForce.IOC,
        reduce_only=order.reduce_only,
        issued_at_ms=now_ms,
        # An order that opens or adds carries the signal's levels and ATR to the position.
        stop_loss=signal.stop_loss if opening else None,
        take_profit=signal.take_profit if opening else None,
        atr=_atr(signal, atr_indicator) if opening else None,
    )
    decision = RiskDecision(
        decision_id=command.command_id,
        signal_id=signal.signal_id,
        strategy=signal.strategy,
        symbol=signal.symbol,
        side=order.side,
        approved=True,
        qty=order.qty,
        price=order.price,
        reduce_only=order.reduce_only,
        order_link_id=order_link_id_for(command),
        rule=APPROVED,
        reason=_describe(order),
        trading_state=state,
        decided_ts_ms=now_ms,
    )
    return RiskOutcome(decision=decision, order=command)


def _opening(order: ProposedOrder) -> bool:
    return order.increases and not order.reduce_only


# The signal's ATR in price units; None unless it is a positive finite number.
def _atr(signal: Signal, name: str) -> Decimal | None:
    value = signal.indicators.get(name)
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return Decimal(str(value))


# Say in words what the order does to the position.
def _describe(order: ProposedOrder) -> str:
    if order.reduce_only or not order.increases:
        verb = "reduces"
    elif order.flips:
        verb = "flips"
    elif order.opens:
        verb = "opens"
    else:
        verb = "adds to"
    return (
        f"{order.side} {order.qty} {order.symbol} at ~{order.price} "
        f"({order.qty * order.price:.2f} USDT) {verb} the position: {order.size_before} -> "
        f"{order.size_after}"
    )
