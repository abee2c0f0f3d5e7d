"""Exceptions grouped by what the system does about them.

TradestreamError
├── RetryableError      transient: back off and try again (network, rate limit, 5xx)
├── BadInputError       this one event is wrong: skip it, send it to the DLQ with the reason
│   └── InvalidTransitionError   an order event that the state machine cannot accept
└── HaltError           an invariant is broken: stop loudly, never trade on
"""

from __future__ import annotations


class TradestreamError(Exception):
    """Root of every error the system raises on purpose."""


class RetryableError(TradestreamError):
    """Fail transiently: the same call may succeed after a back-off."""


class BadInputError(TradestreamError):
    """Reject one event; the caller dead-letters it with this message as the reason."""


class InvalidTransitionError(BadInputError):
    """Refuse an order-state change that the order state machine does not allow."""


class HaltError(TradestreamError):
    """Stop processing: continuing would risk capital or corrupt state."""
