"""Order statuses and the explicit table of the changes between them.

The table is the whole state machine: anything not listed is refused. It allows what Bybit can
really report, including the races between our REST calls and the private WebSocket:

* a WebSocket ack or fill can overtake the REST response, so ``pending_submit`` may jump straight
  to ``acknowledged``, ``partially_filled`` or ``filled`` (and ``submitted`` likewise);
* an order can fill while our cancel is in flight, so ``pending_cancel`` may end ``filled``, take
  more fills and stay ``pending_cancel``, or return to ``acknowledged`` / ``partially_filled`` when
  the exchange refuses the cancel;
* the exchange may cancel an open order on its own (liquidation, cancel-all from another
  session), so open orders may go to ``cancelled`` without ``pending_cancel``;
* ``expired`` means the order's time in force ended it (IOC/FOK/market remainder), which can also
  race ahead of the REST response.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class OrderStatus(StrEnum):
    """Where an order is in its life, as we know it."""

    NEW = "new"
    PENDING_SUBMIT = "pending_submit"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"


_S = OrderStatus

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        # Built locally: send it, refuse it in a pre-trade check, or withdraw it unsent.
        _S.NEW: frozenset({_S.PENDING_SUBMIT, _S.REJECTED, _S.CANCELLED}),
        # Request in flight: the REST answer or a faster WebSocket update decides.
        _S.PENDING_SUBMIT: frozenset(
            {
                _S.SUBMITTED,
                _S.ACKNOWLEDGED,
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.EXPIRED,
                _S.REJECTED,
                _S.FAILED,
            }
        ),
        # REST said retCode 0: the order is created asynchronously and may still be rejected.
        _S.SUBMITTED: frozenset(
            {
                _S.ACKNOWLEDGED,
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.PENDING_CANCEL,
                _S.CANCELLED,
                _S.EXPIRED,
                _S.REJECTED,
                _S.FAILED,
            }
        ),
        _S.ACKNOWLEDGED: frozenset(
            {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED, _S.EXPIRED}
        ),
        # A self-transition records each further fill.
        _S.PARTIALLY_FILLED: frozenset(
            {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED, _S.EXPIRED}
        ),
        # Cancel in flight: it lands, loses the race to the last fill, takes further fills
        # (self-transition), or is refused and the order is open again.
        _S.PENDING_CANCEL: frozenset(
            {
                _S.CANCELLED,
                _S.FILLED,
                _S.PENDING_CANCEL,
                _S.PARTIALLY_FILLED,
                _S.ACKNOWLEDGED,
                _S.EXPIRED,
            }
        ),
        _S.FILLED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.REJECTED: frozenset(),
        _S.FAILED: frozenset(),
        _S.EXPIRED: frozenset(),
    }
)

TERMINAL: frozenset[OrderStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
"""Statuses an order never leaves."""

LATE_FOR_ACK: frozenset[OrderStatus] = frozenset(
    {_S.PARTIALLY_FILLED, _S.PENDING_CANCEL, _S.FILLED, _S.CANCELLED, _S.EXPIRED}
)
"""Statuses that already prove the exchange took the order, so a late ack changes nothing."""

LATE_FOR_SUBMIT: frozenset[OrderStatus] = LATE_FOR_ACK | {_S.ACKNOWLEDGED, _S.REJECTED}
"""Statuses the exchange reported before our REST answer arrived, which it must not undo."""

FILLABLE: frozenset[OrderStatus] = frozenset(
    s for s, nxt in TRANSITIONS.items() if _S.FILLED in nxt
)
"""Statuses in which an execution may arrive."""


def is_allowed(current: OrderStatus, target: OrderStatus) -> bool:
    """Tell whether the table allows moving from ``current`` to ``target``."""
    return target in TRANSITIONS[current]
